import type { Context } from 'koa';

const escapeHtml = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Error page for browser-facing protocol endpoints: the OAuth error and its description, nothing internal. */
export async function renderProtocolErrorPage(ctx: Context, out: { error: string; error_description?: string }): Promise<void> {
  ctx.type = 'html';
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in error</title></head>
<body><main><h1>Something went wrong</h1>
<p><strong>${escapeHtml(out.error)}</strong>${out.error_description ? `: ${escapeHtml(out.error_description)}` : ''}</p>
</main></body></html>`;
}
