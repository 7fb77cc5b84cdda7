import type Router from '@koa/router';
import type { Config } from '../../config/config.ts';
import { pageStylesheet } from './stylesheet.ts';

/**
 * Routes:
 *   GET /assets/gatehouse.<hash>.css   the pages' stylesheet (stylesheet.ts)
 *
 * The name changes with the content, so the answer may be cached for a year and never revalidated
 * (`immutable`); an old name (after the accent changed) is a 404 like any unknown path.
 */
export function registerPageAssets(router: Router, config: Pick<Config, 'branding'>): void {
  const sheet = pageStylesheet(config.branding);
  router.get(sheet.href, (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.set('ETag', sheet.etag);
    ctx.type = 'text/css; charset=utf-8';
    ctx.status = 200; // ctx.fresh compares validators only on a 2xx answer
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = sheet.css;
  });
}
