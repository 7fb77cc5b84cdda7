/**
 * The people-facing pages: typed preact components rendered on the server (renderPage/sendPage),
 * their stylesheet (registerPageAssets) and their security headers (pageSecurityHeaders).
 */
export { registerPageAssets } from './assets.ts';
export { accentPalette, contrastRatio } from './color.ts';
export type { AccessRequest, ApiAccessRequest, ClientSummary, HiddenField } from './components.tsx';
export { CONSENT_DECISION, ConsentPage, type ConsentPageProps } from './consent-page.tsx';
export {
  DEVICE_ABORT,
  DeviceCodePage,
  type DeviceCodePageProps,
  DeviceConfirmPage,
  type DeviceConfirmPageProps,
  DeviceDonePage,
  type DeviceDonePageProps,
  USER_CODE_FIELD,
  type UserCodeError,
  userCodeError,
} from './device-pages.tsx';
export { ERROR_PAGE_STATUS, ErrorPage, type ErrorPageKind, type ErrorPageProps, errorPageKind } from './error-page.tsx';
export { LOGIN_FIELDS, type LoginError, LoginPage, type LoginPageProps } from './login-page.tsx';
export { LOGOUT_CONFIRM, LoggedOutPage, type LoggedOutPageProps, LogoutConfirmPage, type LogoutConfirmPageProps } from './logout-pages.tsx';
export { type ProviderForm, ProviderFormError, readProviderForm } from './provider-form.ts';
export { type RenderPageOptions, renderPage, type SendPageOptions, sendPage } from './render.tsx';
export { type PageSecurityOptions, pageContentSecurityPolicy, pageSecurityHeaders } from './security-headers.ts';
export { pageStylesheet } from './stylesheet.ts';
