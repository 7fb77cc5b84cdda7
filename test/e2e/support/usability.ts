import type { Page } from 'playwright-core';

/**
 * A page is usable on a small phone (360 CSS px wide, WCAG 2.1 SC 1.4.10 asks for 320 at 400 %
 * zoom; 360 is the common real screen): nothing scrolls sideways, and every field, button and
 * link is on screen, wide and tall enough to hit (24 px, WCAG 2.2 SC 2.5.8).
 * The viewport is put back as it was afterwards.
 */
export async function expectUsableAt360(page: Page): Promise<void> {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 360, height: 740 });
  try {
    const problems = await page.evaluate(() => {
      const found: string[] = [];
      const root = document.documentElement;
      if (root.scrollWidth > root.clientWidth) found.push(`the page scrolls sideways: ${root.scrollWidth}px wide in ${root.clientWidth}px`);
      const controls = document.querySelectorAll<HTMLElement>('input:not([type=hidden]), button, select, textarea, a[href]');
      for (const el of controls) {
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent ?? '').trim().slice(0, 40)}"`;
        if (style.display === 'none' || style.visibility === 'hidden' || box.width === 0 || box.height === 0) {
          found.push(`${name} is not visible`);
          continue;
        }
        if (box.left < 0 || box.right > root.clientWidth)
          found.push(`${name} sticks out: ${Math.round(box.left)}–${Math.round(box.right)}px`);
        const inline = el.tagName === 'A' && !el.classList.contains('button');
        if (!inline && (box.width < 24 || box.height < 24))
          found.push(`${name} is too small: ${Math.round(box.width)}×${Math.round(box.height)}px`);
      }
      return found;
    });
    if (problems.length) throw new Error(`not usable at 360px on ${page.url()}:\n  ${problems.join('\n  ')}`);
  } finally {
    if (before) await page.setViewportSize(before);
  }
}
