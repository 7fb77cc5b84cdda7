import type { Page } from 'playwright-core';

/** What has focus, as a person would name it. */
export interface FocusStop {
  /** `input#username`, `button`, `a` */
  element: string;
  /** its label or text: "Username", "Sign in" */
  name: string;
  /** a focus ring (outline or box-shadow) is drawn, and the element is on screen */
  visible: boolean;
  top: number;
  left: number;
  bottom: number;
}

/**
 * Presses Tab from the top of a freshly loaded page until focus leaves it (or `max` presses),
 * recording each stop. Call it right after navigation: Tab starts from the document's start.
 */
export async function tabThrough(page: Page, max = 40): Promise<FocusStop[]> {
  await page.evaluate(() => {
    (window as unknown as { __tabSeen?: WeakSet<Element> }).__tabSeen = new WeakSet();
  });
  const stops: FocusStop[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate((): FocusStop | null => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body || el === document.documentElement) return null;
      // a second visit means focus wrapped around: the pass is complete
      const w = window as unknown as { __tabSeen?: WeakSet<Element> };
      w.__tabSeen ??= new WeakSet();
      if (w.__tabSeen.has(el)) return null;
      w.__tabSeen.add(el);
      const style = getComputedStyle(el);
      const ring = (style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
      const box = el.getBoundingClientRect();
      const onScreen =
        box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < window.innerHeight && box.right > 0 && box.left < window.innerWidth;
      const labels = (el as HTMLInputElement).labels;
      const name = (labels?.[0]?.textContent ?? el.getAttribute('aria-label') ?? el.textContent ?? '').trim().replace(/\s+/g, ' ');
      return {
        element: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}`,
        name,
        visible: ring && onScreen,
        top: box.top + window.scrollY,
        left: box.left + window.scrollX,
        bottom: box.bottom + window.scrollY,
      };
    });
    if (!stop) break;
    stops.push(stop);
  }
  return stops;
}

/**
 * The keyboard pass: Tab reaches every focusable element, in the order they are read (top to
 * bottom, left to right within a row), each with a visible focus ring; returns the stops so a
 * test can say which comes first and that the submit button is among them.
 */
export async function expectKeyboardPass(page: Page): Promise<FocusStop[]> {
  const stops = await tabThrough(page);
  const focusable = await page.evaluate(
    () =>
      [
        ...document.querySelectorAll<HTMLElement>(
          'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])',
        ),
      ].length,
  );
  const problems: string[] = [];
  if (stops.length !== focusable) problems.push(`Tab reached ${stops.length} of ${focusable} focusable elements`);
  stops.forEach((stop, i) => {
    if (!stop.visible) problems.push(`no visible focus on ${stop.element} "${stop.name}"`);
    const prev = stops[i - 1];
    if (prev) {
      const sameRow = stop.top < prev.bottom - 1 && stop.bottom > prev.top + 1;
      const readingOrder = sameRow ? stop.left >= prev.left : stop.top >= prev.bottom - 1;
      if (!readingOrder) problems.push(`${stop.element} "${stop.name}" comes after ${prev.element} "${prev.name}" but is read before it`);
    }
  });
  if (problems.length) {
    throw new Error(
      `keyboard pass failed on ${page.url()}:\n  ${problems.join('\n  ')}\nstops: ${stops.map((s) => `${s.element} "${s.name}"`).join(' → ')}`,
    );
  }
  return stops;
}
