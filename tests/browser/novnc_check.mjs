#!/usr/bin/env node
// Opens an rfbcast browser-viewer URL in the system's headless Chromium (never a downloaded one)
// and reports what the page shows, for tests/integration/browser_test.cpp.
//
//   node novnc_check.mjs --url URL
//        [--expect-status connected|connecting|disconnected|failed]  wait for window.rfbcast.status
//        [--expect-message]       wait for the error page's <p id="message"> instead
//        [--ppm FILE]             once connected, wait until the canvas stops changing and write
//                                 its pixels as a binary PPM (P6)
//        [--stable-ms N]          how long the canvas must stay unchanged (default 1500)
//        [--type TEXT]            click the canvas and type TEXT (after the PPM, if any)
//        [--timeout SECONDS]      the whole run's bound (default 30)
//        [--chromium PATH]        default /usr/bin/chromium
//
// Prints one JSON line {ok, http_status, status, message, desktop, width, height, error} and exits
// 0 when what was expected happened, 1 when it did not, 2 on a usage error. The browser is
// always closed and its profile directory removed.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {chromium} from 'playwright-core';

function parseArgs(argv) {
    const a = {stableMs: 1500, timeout: 30, chromium: '/usr/bin/chromium'};
    for (let i = 0; i < argv.length; ++i) {
        const key = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) throw new Error(`${key} needs a value`);
            return argv[++i];
        };
        switch (key) {
            case '--url':
                a.url = value();
                break;
            case '--expect-status':
                a.expectStatus = value();
                break;
            case '--expect-message':
                a.expectMessage = true;
                break;
            case '--ppm':
                a.ppm = value();
                break;
            case '--stable-ms':
                a.stableMs = Number(value());
                break;
            case '--type':
                a.type = value();
                break;
            case '--timeout':
                a.timeout = Number(value());
                break;
            case '--chromium':
                a.chromium = value();
                break;
            default:
                throw new Error(`unknown argument ${key}`);
        }
    }
    if (!a.url) throw new Error('--url is required');
    if (!a.expectStatus && !a.expectMessage) a.expectStatus = 'connected';
    if (!(a.timeout > 0) || !(a.stableMs >= 0)) throw new Error('bad --timeout or --stable-ms');
    return a;
}

// The flags ../shared/PEERS.md found necessary here (headless is added by Playwright).
const CHROMIUM_FLAGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A cheap fingerprint of the canvas, computed in the page so only a few numbers cross over.
async function canvasFingerprint(page) {
    return page.evaluate(() => {
        const c = document.querySelector('#screen canvas');
        if (!c || c.width === 0 || c.height === 0) return null;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let h = 0x811c9dc5;
        for (let i = 0; i < d.length; i += 1)
            h = Math.imul(h ^ d[i], 16777619);
        return {width: c.width, height: c.height, hash: h >>> 0};
    });
}

// The canvas as RGB, base64 (a JSON array of 3 MB of numbers would be far slower).
async function canvasRgbBase64(page) {
    return page.evaluate(() => {
        const c = document.querySelector('#screen canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const parts = [];
        const chunk = 3 * 8192;
        let bin = '';
        for (let p = 0; p < d.length; p += 4) {
            bin += String.fromCharCode(d[p], d[p + 1], d[p + 2]);
            if (bin.length >= chunk) {
                parts.push(btoa(bin));
                bin = '';
            }
        }
        if (bin.length) parts.push(btoa(bin));
        return {width: c.width, height: c.height, parts};
    });
}

async function run(args, result, deadline) {
    const left = () => Math.max(1, deadline - Date.now());
    const profile = mkdtempSync(join(tmpdir(), 'rfbcast-chromium-'));
    let context;
    try {
        context = await chromium.launchPersistentContext(profile, {
            executablePath: args.chromium,
            headless: true,
            args: CHROMIUM_FLAGS,
            viewport: {width: 1400, height: 1000},
            timeout: left(),
        });
        const page = context.pages()[0] || (await context.newPage());
        // The page's own complaints (noVNC logs its errors to the console), for the report.
        result.console = [];
        const note = (line) => {
            if (result.console.length < 20) result.console.push(line.slice(0, 300));
        };
        page.on('console', (m) => {
            if (m.type() === 'error' || m.type() === 'warning') note(`${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => note(`pageerror: ${e.message}`));
        const response = await page.goto(args.url, {timeout: left(), waitUntil: 'load'});
        result.http_status = response ? response.status() : 0;

        if (args.expectMessage) {
            const el = await page.waitForSelector('#message', {timeout: left()});
            result.message = (await el.textContent()).trim();
            result.visible = await el.isVisible();
            result.ok = result.visible && result.message.length > 0;
            return;
        }

        // Wait for the expected status, or any final one (to report it at once).
        await page.waitForFunction(
            (want) => window.rfbcast &&
                (window.rfbcast.status === want || window.rfbcast.status === 'failed' ||
                 window.rfbcast.status === 'disconnected'),
            args.expectStatus, {timeout: left(), polling: 100});
        const state = await page.evaluate(() => ({
                                              status: window.rfbcast.status,
                                              message: window.rfbcast.message,
                                              desktop: window.rfbcast.desktop,
                                          }));
        Object.assign(result, state);
        if (state.status !== args.expectStatus) {
            result.error = `status ${state.status}, expected ${args.expectStatus}`;
            return;
        }

        if (args.ppm) {
            let last = null;
            let since = Date.now();
            for (;;) {
                if (Date.now() >= deadline) throw new Error('the canvas never stopped changing');
                const f = await canvasFingerprint(page);
                const same = f && last && f.width === last.width && f.height === last.height &&
                    f.hash === last.hash;
                if (!same) {
                    last = f;
                    since = Date.now();
                } else if (Date.now() - since >= args.stableMs)
                    break;
                await sleep(200);
            }
            const px = await canvasRgbBase64(page);
            const header = Buffer.from(`P6\n${px.width} ${px.height}\n255\n`, 'ascii');
            writeFileSync(
                args.ppm,
                Buffer.concat([header, ...px.parts.map((p) => Buffer.from(p, 'base64'))]));
            result.width = px.width;
            result.height = px.height;
        }

        if (args.type !== undefined) {
            const canvas = await page.waitForSelector('#screen canvas', {timeout: left()});
            await canvas.click({timeout: left()});
            await page.keyboard.type(args.type, {delay: 50});
            await sleep(500);  // let the key events leave before the browser closes
        }
        const final = await page.evaluate(() => window.rfbcast.status);
        result.status = final;
        result.ok = final === args.expectStatus;
        if (!result.ok) result.error = `status became ${final}`;
    } finally {
        if (context) await context.close().catch(() => {});
        rmSync(profile, {recursive: true, force: true});
    }
}

async function main() {
    let args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        console.log(JSON.stringify({ok: false, error: `usage: ${e.message}`}));
        return 2;
    }
    const result = {ok: false, http_status: 0, status: '', message: '', desktop: ''};
    const deadline = Date.now() + args.timeout * 1000;
    let timer;
    const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve('timeout'), args.timeout * 1000 + 5000);
    });
    try {
        const outcome = await Promise.race([run(args, result, deadline), timeout]);
        if (outcome === 'timeout') result.error = `timed out after ${args.timeout} s`;
    } catch (e) {
        result.ok = false;
        result.error = String(e && e.message ? e.message : e).split('\n')[0];
    } finally {
        clearTimeout(timer);
    }
    console.log(JSON.stringify(result));
    return result.ok ? 0 : 1;
}

// exit() rather than waiting for the event loop: after a timeout a stuck browser must not keep
// this process alive (Playwright kills the browsers it launched on exit).
process.exit(await main());
