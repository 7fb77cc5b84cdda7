import type Router from '@koa/router';

/**
 * GET /healthz  the process is up (liveness)
 * GET /readyz   it can serve: database reachable, migrations applied, keys loaded (readiness)
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

export function registerHealthRoutes(router: Router, deps: { checks: ReadinessCheck[]; isShuttingDown: () => boolean }): void {
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const results: Record<string, 'ok' | 'failing'> = {};
    await Promise.all(
      deps.checks.map(async ({ name, check }) => {
        const ok = await Promise.race([
          check().catch(() => false),
          new Promise<boolean>((resolve) => setTimeout(resolve, 2000, false).unref()),
        ]);
        results[name] = ok ? 'ok' : 'failing';
      }),
    );
    const shuttingDown = deps.isShuttingDown();
    const ready = !shuttingDown && Object.values(results).every((r) => r === 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : shuttingDown ? 'shutting_down' : 'not_ready', checks: results };
  });
}
