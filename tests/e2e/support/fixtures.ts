/**
 * The e2e `test`: Playwright's, plus an automatic check that the page logged no console error,
 * threw no uncaught exception and broke no Content Security Policy rule during the test.
 * Import `test` and `expect` from here.
 */
import { test as base, expect } from '@playwright/test';

export const test = base.extend<{ pageProblems: string[] }>({
  pageProblems: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console.error: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      // Chrome logs most CSP refusals to the console; the event catches the rest (report-only, workers).
      await page.exposeBinding('__reportCspViolation', (_source, text: string) => problems.push(`CSP violation: ${text}`));
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (event) => {
          void (window as unknown as { __reportCspViolation: (text: string) => Promise<void> }).__reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber}`);
        });
      });
      await use(problems);
      expect(problems, 'the page logged errors').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
