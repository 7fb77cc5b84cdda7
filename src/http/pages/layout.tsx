import type { ComponentChildren } from 'preact';
import { useTheme } from './theme.ts';

interface LayoutProps {
  /** the page's name: the `<title>` (with the product name) and, unless `heading` is given, the h1 */
  title: string;
  heading?: ComponentChildren;
  /** the page shows an error: the title starts with "Error: ", so it is the first thing heard */
  hasError?: boolean;
  children: ComponentChildren;
}

/**
 * The whole document around a page: language, viewport, the one stylesheet, a banner with the
 * product name (and logo) and the page in `<main>` under its h1. No script, no inline style.
 */
export function Layout({ title, heading, hasError = false, children }: LayoutProps) {
  const theme = useTheme();
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{`${hasError ? 'Error: ' : ''}${title} – ${theme.productName}`}</title>
        {/* no favicon request to 404 on: an empty data: icon (img-src allows data:) */}
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={theme.stylesheetHref} />
      </head>
      <body>
        <header class="brand">
          {theme.logoUrl ? <img src={theme.logoUrl} alt="" /> : null}
          <span>{theme.productName}</span>
        </header>
        <main>
          <h1>{heading ?? title}</h1>
          {children}
        </main>
      </body>
    </html>
  );
}
