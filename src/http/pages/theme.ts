import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { BrandingConfig } from '../../config/config.ts';
import { pageStylesheet } from './stylesheet.ts';

/** What every page's layout needs from configuration, handed down by renderPage. */
export interface PageTheme {
  productName: string;
  logoUrl: string | null;
  stylesheetHref: string;
}

export function pageTheme(branding: BrandingConfig): PageTheme {
  return { productName: branding.productName, logoUrl: branding.logoUrl, stylesheetHref: pageStylesheet(branding).href };
}

export const ThemeContext = createContext<PageTheme | null>(null);

export function useTheme(): PageTheme {
  const theme = useContext(ThemeContext);
  if (!theme) throw new Error('a page was rendered outside renderPage (no theme)');
  return theme;
}
