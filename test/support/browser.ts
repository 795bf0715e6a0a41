/**
 * Real-browser tests: Debian's Chromium (`scripts/install-chromium.sh`, run by
 * `scripts/bootstrap.sh`) driven by playwright-core, headless, with a fresh profile per
 * launch. The background-networking flags keep Chromium from calling out (refused on a
 * closed network, and noise on an open one). Also a tiny static server, so pages come from
 * another origin than the edge, as a shop's pages would.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const hasChromium = (): boolean => existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface StaticSite {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves `pages` (path -> HTML) on 127.0.0.1 at a free port, cacheable for a minute (so a
 * page can be opened again from the browser's cache while it is offline).
 */
export async function serveStatic(pages: Record<string, string>): Promise<StaticSite> {
  const server: Server = createServer((req, res) => {
    const page = pages[(req.url ?? '/').split('?')[0]!];
    if (page === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'max-age=60',
    });
    res.end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
