import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { Config } from '../../src/config/schema';
import { DRIVER_QUEUES } from '../../src/dashboard/queues';
import { createLogger } from '../../src/log/logger';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { startController, type ControllerApp } from '../../src/runtime/controller-app';
import { VERSION } from '../../src/version';
import { startHarness, type Harness } from '../support/controller-harness';
import { describeIf } from '../support/prereq';

/**
 * The job dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core; no browser is ever
 * downloaded): a real controller (private redis-server, RouterOS simulator over TCP) serving bull-board under
 * /dashboard. Without credentials the page is 401; with them (the browser's own basic-auth handling through
 * Playwright's httpCredentials) it shows the driver's queues and the completed disk.create job of a CreateVolume made
 * here; read-only mode offers no action a user could click, read-write mode does (which shows the check can fail).
 *
 * Screenshots of every page looked at go to $RDS_CSI_SCREENSHOT_DIR (default: <tmpdir>/rds-csi-browser), overwritten
 * on each run.
 */

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = ((): boolean => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();
const SKIP_REASON = `${CHROMIUM} is not installed (Debian/Ubuntu: sudo apt-get install -y chromium; .ci/run installs it)`;
if (!HAVE_CHROMIUM) console.warn(`browser tests SKIPPED: ${SKIP_REASON}`);

/** `describe` when Chromium is there, otherwise a visibly skipped suite with the reason in its name (in CI: a failure). */
const describeBrowser = describeIf(HAVE_CHROMIUM, SKIP_REASON);

/** Launch flags: no sandbox (root in CI containers), no GPU, no network chatter of its own, no first-run UI. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Every label of an action that changes jobs or queues in bull-board 9 (buttons, icon tooltips, menu items). */
const ACTION = /retry|clean|delete|remove|promote|pause|resume|empty|obliterate|duplicate|add job|update|reschedule|priority|concurrency|rate limit/i;

const CAP = [{ mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } }];
const USER = 'ops';
const PASSWORD = 'correct horse:battery';

const SCREENSHOTS = process.env.RDS_CSI_SCREENSHOT_DIR ?? path.join(os.tmpdir(), 'rds-csi-browser');

describeBrowser('job dashboard in headless Chromium', () => {
  let dir: string;
  let h: Harness;
  let rw: ControllerApp;
  let roUrl: string;
  let rwUrl: string;
  const contexts: BrowserContext[] = [];
  let volumeId: string;

  /** A fresh Chromium with its own fresh profile dir (--user-data-dir), optionally answering basic-auth challenges. */
  async function browser(credentials?: { username: string; password: string }): Promise<Page> {
    const profile = mkdtempSync(path.join(dir, 'chromium-profile-'));
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      httpCredentials: credentials,
      timeout: 20000,
      viewport: { width: 1280, height: 900 },
    });
    contexts.push(ctx);
    ctx.setDefaultTimeout(10000);
    return ctx.pages()[0] ?? (await ctx.newPage());
  }

  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /**
   * What a user is offered to click in `scope`: the text of every button, the tooltip of every icon button (focus
   * shows it at once; `tooltips: false` skips them where another check has read them), and the items of every menu.
   */
  async function offeredActions(page: Page, scope: Locator = page.locator('body'), tooltips = true): Promise<string[]> {
    const labels = (await scope.getByRole('button').allInnerTexts()).map((t) => t.trim()).filter(Boolean);
    const icons = tooltips ? scope.locator('[data-base-ui-tooltip-trigger] button') : scope.locator('nothing-at-all');
    // A key press first makes the next focus a keyboard one, which opens a tooltip at once (a mouse hover waits).
    if (await icons.count()) await page.keyboard.press('Shift');
    for (let i = 0; i < (await icons.count()); i++) {
      await icons.nth(i).focus();
      const tip = page.locator('[data-side][data-open]').last();
      await tip.waitFor({ state: 'visible', timeout: 3000 });
      labels.push((await tip.innerText()).trim());
      await icons.nth(i).blur();
    }
    const menus = scope.locator('button[aria-haspopup="menu"]');
    for (let i = 0; i < (await menus.count()); i++) {
      await menus.nth(i).click();
      const items = page.getByRole('menuitem');
      await items.first().waitFor({ state: 'visible', timeout: 3000 });
      labels.push(...(await items.allInnerTexts()).map((t) => t.trim()));
      await page.keyboard.press('Escape');
      await items.first().waitFor({ state: 'hidden', timeout: 3000 });
    }
    return labels;
  }

  /** The job card of a job id (the card holds the id link, the actions and the job name heading). */
  const jobCard = (page: Page, jobId: string): Locator => page.getByRole('link', { name: jobId, exact: true }).locator('xpath=ancestor::*[.//h5][1]');

  /** Opens the queue from the overview, then its Completed tab, by clicking like a user. */
  async function openCompleted(page: Page, base: string): Promise<void> {
    const home = await page.goto(`${base}/dashboard/`);
    expect(home?.status()).toBe(200);
    await page.getByRole('link', { name: VOLUME_QUEUE, exact: true }).first().click();
    await page.waitForURL(`${base}/dashboard/queue/${VOLUME_QUEUE}`);
    await page.getByRole('link', { name: /^COMPLETED/ }).click();
    await page.waitForURL(`${base}/dashboard/queue/${VOLUME_QUEUE}?status=completed`);
  }

  /** The id of the disk.create job of the volume, as the completed list shows it. */
  async function diskCreateJobId(page: Page): Promise<string> {
    const link = page.getByRole('link', { name: new RegExp(`^disk\\.create-${volumeId}-[0-9a-f]+$`) });
    await link.waitFor({ state: 'visible' });
    return (await link.innerText()).trim();
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-browser-'));
    mkdirSync(SCREENSHOTS, { recursive: true });
    const authFile = path.join(dir, 'basic-auth');
    writeFileSync(authFile, `${USER}:${PASSWORD}\n`, { mode: 0o600 });
    h = await startHarness({ httpListen: '127.0.0.1:0', overrides: { 'dashboard.basicAuthFile': authFile, 'dashboard.listen': '127.0.0.1:0' } });
    roUrl = `http://127.0.0.1:${h.controller?.dashboard?.port}`;
    // A second controller on the same Redis, same credential, with actions turned on.
    const cfg: Config = { ...h.cfg, dashboard: { ...h.cfg.dashboard, readOnly: false } };
    rw = await startController(
      cfg,
      { endpoint: `unix://${path.join(dir, 'rw.sock')}`, httpListen: '127.0.0.1:0', withWorker: false },
      createLogger('silent'),
    );
    rwUrl = `http://127.0.0.1:${rw.dashboard?.port}`;
    const vol = await h.client.ctl(
      'CreateVolume',
      { name: 'pvc-browser-1', capacityRange: { requiredBytes: 8 * 1024 * 1024 }, volumeCapabilities: CAP },
      20000,
    );
    volumeId = vol.volume.volumeId as string;
  });

  afterAll(async () => {
    for (const ctx of contexts) await ctx.close();
    await rw?.close();
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without credentials the dashboard answers 401 with a Basic challenge and renders nothing of bull-board', async () => {
    const page = await browser();
    for (const p of ['/dashboard/', `/dashboard/queue/${VOLUME_QUEUE}?status=completed`]) {
      // With no credential to answer the challenge, Chromium (as Playwright drives it) ends the navigation with
      // ERR_INVALID_AUTH_CREDENTIALS (a browser whose user cancels the prompt shows the 401 body instead); the
      // response it received is what the server said.
      const received = page.waitForResponse((r) => r.url() === roUrl + p);
      const nav = await page.goto(roUrl + p).then(
        () => 'loaded',
        (err: Error) => err.message,
      );
      const res = await received;
      expect([p, res.status()]).toEqual([p, 401]);
      expect(res.headers()['www-authenticate']).toMatch(/^Basic realm="rds-csi dashboard"/);
      expect(nav).toMatch(/^loaded$|ERR_INVALID_AUTH_CREDENTIALS/);
    }
    await shot(page, '01-no-credentials');
    expect(await page.getByRole('link', { name: VOLUME_QUEUE }).count()).toBe(0);
    expect(await page.content()).not.toContain(`rds-csi ${VERSION}`); // the board's title
  });

  describe('with credentials (basic auth answered by the browser)', () => {
    let page: Page;
    beforeAll(async () => {
      page = await browser({ username: USER, password: PASSWORD });
    });

    it("shows the driver's queues, and the completed disk.create job of the CreateVolume made here", async () => {
      const home = await page.goto(`${roUrl}/dashboard/`);
      expect(home?.status()).toBe(200);
      await page.getByText(`rds-csi ${VERSION}`, { exact: true }).first().waitFor({ state: 'visible' }); // the board's title
      for (const q of DRIVER_QUEUES) await page.getByRole('link', { name: q, exact: true }).first().waitFor({ state: 'visible' });
      await shot(page, '02-overview');

      await openCompleted(page, roUrl);
      const jobId = await diskCreateJobId(page);
      const card = jobCard(page, jobId);
      await card.getByRole('heading', { name: 'disk.create', exact: true }).waitFor({ state: 'visible' });
      const text = await card.innerText();
      expect(text).toContain('Finished at');
      expect(text).toContain(`/${volumeId}.img`); // the job data: the backing file of this volume
      // One job per CreateVolume (issue 14): the export is this job's work (its NQN is in the data), no target.export job.
      expect(text).toContain(`:${volumeId}`);
      expect(await page.getByRole('link', { name: new RegExp(`^target\\.export-${volumeId}-`) }).count()).toBe(0);
      await shot(page, '03-completed-read-only');
    });

    it('read-only (the default): no retry, clean, delete or promote anywhere, on completed and on delayed jobs', async () => {
      await openCompleted(page, roUrl);
      const jobId = await diskCreateJobId(page);
      // The card shows its tabs (Data, Progress, ...) and offers no action at all.
      expect(await jobCard(page, jobId).getByRole('tab').allInnerTexts()).toContain('Data');
      expect(await offeredActions(page, jobCard(page, jobId))).toEqual([]);
      const completed = await offeredActions(page);
      expect(completed.filter((l) => ACTION.test(l))).toEqual([]);

      // Delayed jobs (the reconcilers' next runs) are where bull-board offers Promote.
      await page.getByRole('link', { name: /^DELAYED/ }).click();
      await page.waitForURL(`${roUrl}/dashboard/queue/${VOLUME_QUEUE}?status=delayed`);
      await page
        .getByRole('heading', { name: /^reconcile\./ })
        .first()
        .waitFor({ state: 'visible' });
      await shot(page, '04-delayed-read-only');
      const delayed = await offeredActions(page);
      expect(delayed.filter((l) => ACTION.test(l))).toEqual([]);
    });

    it('read-write: the same pages offer retry, clean and promote (so the read-only check can fail)', async () => {
      await openCompleted(page, rwUrl);
      const jobId = await diskCreateJobId(page);
      const onJob = await offeredActions(page, jobCard(page, jobId));
      expect(onJob).toEqual(expect.arrayContaining(['Retry', 'Clean']));
      const completed = await offeredActions(page, page.locator('body'), false);
      expect(completed).toEqual(expect.arrayContaining(['Retry all', 'Clean all', 'Pause', 'Empty', 'Obliterate']));
      await shot(page, '05-completed-read-write');

      await page.getByRole('link', { name: /^DELAYED/ }).click();
      await page.waitForURL(`${rwUrl}/dashboard/queue/${VOLUME_QUEUE}?status=delayed`);
      await page
        .getByRole('heading', { name: /^reconcile\./ })
        .first()
        .waitFor({ state: 'visible' });
      await shot(page, '06-delayed-read-write');
      expect(await offeredActions(page, page.locator('body'), false)).toEqual(expect.arrayContaining(['Promote all']));
      const delayedJob = page.getByRole('link', { name: /reconcile\./ }).first();
      const onDelayed = await offeredActions(page, jobCard(page, (await delayedJob.innerText()).trim()));
      expect(onDelayed).toEqual(expect.arrayContaining(['Promote', 'Clean']));
      // Looking changed nothing: the job is still there.
      await openCompleted(page, rwUrl);
      expect(await diskCreateJobId(page)).toBe(jobId);
    });
  });
});

if (!HAVE_CHROMIUM && process.env.CI) {
  // On a developer machine the suite above is skipped; in CI a missing browser is a broken setup, not a skip.
  it('CI has Chromium for the browser tests', () => {
    throw new Error(`CI is set but ${SKIP_REASON}`);
  });
}
