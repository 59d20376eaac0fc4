/**
 * Labelled synthetic web traffic in combined log format, deterministic (seeded). Addresses come
 * from the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32):
 * data in a file, never contacted.
 */

export type Label =
  | 'human'
  | 'search_engine'
  | 'ai_crawler'
  | 'scanner'
  | 'login_bruteforce'
  | 'botnet'
  | 'ua_rotating_scraper'
  | 'hostile_subnet';

export interface Traffic {
  lines: string[];
  labels: Map<string, Label>;
  botnetUa: string;
}

export const ATTACKER_LABELS: Label[] = [
  'scanner',
  'login_bruteforce',
  'botnet',
  'ua_rotating_scraper',
  'hostile_subnet',
];

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.0.0',
];
const PAGES = [
  '/',
  '/blog/',
  '/blog/tuning-nginx',
  '/about',
  '/contact',
  '/products/widget',
  '/docs/install',
  '/pricing',
  '/blog/feed.xml',
];
const ASSETS = ['/static/app.css', '/static/app.js', '/images/logo.png', '/favicon.ico'];

/** Apache's %t: 10/Oct/2000:13:55:36 +0000 */
export function apacheTime(ms: number): string {
  const d = new Date(ms);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
    d.getUTCMonth()
  ];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export function combinedLine(
  ip: string,
  ms: number,
  method: string,
  path: string,
  status: number,
  bytes: number,
  ua: string,
  referer = '-',
): string {
  return `${ip} - - [${apacheTime(ms)}] "${method} ${path} HTTP/1.1" ${status} ${bytes} "${referer}" "${ua}"`;
}

/** One day of traffic starting at `start` (epoch ms), every client labelled. */
export function generateTraffic(seed = 42, start = Date.UTC(2026, 10, 20, 0, 0, 0)): Traffic {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const events: Array<{ t: number; line: string }> = [];
  const labels = new Map<string, Label>();
  const add = (
    ip: string,
    label: Label,
    t: number,
    method: string,
    path: string,
    status: number,
    ua: string,
  ) => {
    labels.set(ip, label);
    events.push({ t, line: combinedLine(ip, t, method, path, status, 200 + Math.floor(rnd() * 20000), ua) });
  };
  const DAY = 86_400_000;

  // Humans: 150 visitors (some share a browser UA), a few pages each with assets, human pacing.
  for (let i = 0; i < 150; i++) {
    const ip = i < 100 ? `198.51.100.${i + 1}` : `2001:db8:${(i % 7) + 1}::${i.toString(16)}`;
    const ua = pick(BROWSERS);
    let t = start + Math.floor(rnd() * (DAY - 3_600_000));
    const pages = 2 + Math.floor(rnd() * 12);
    for (let p = 0; p < pages; p++) {
      const page = pick(PAGES);
      add(ip, 'human', t, 'GET', page, rnd() < 0.03 ? 404 : 200, ua);
      for (const a of ASSETS)
        if (rnd() < 0.6) add(ip, 'human', t + 200, 'GET', a, rnd() < 0.5 ? 304 : 200, ua);
      if (page === '/contact' && rnd() < 0.5) add(ip, 'human', t + 20_000, 'POST', '/contact', 302, ua);
      t += 5_000 + Math.floor(rnd() * 90_000);
    }
  }
  // One human who mistypes a login twice: must not look like brute force.
  for (let k = 0; k < 3; k++)
    add(
      '198.51.100.200',
      'human',
      start + 7_200_000 + k * 15_000,
      'POST',
      '/login',
      k < 2 ? 401 : 302,
      BROWSERS[0] as string,
    );

  // Search engines: Googlebot (smartphone and desktop UAs) and bingbot crawl steadily, with 404s for old URLs.
  const googleUas = [
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  ];
  for (const [ip, uas, n] of [
    ['192.0.2.10', googleUas, 600],
    ['192.0.2.11', googleUas, 400],
    ['192.0.2.20', ['Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)'], 300],
  ] as Array<[string, string[], number]>) {
    for (let k = 0; k < n; k++) {
      add(
        ip,
        'search_engine',
        start + Math.floor((k / n) * DAY),
        'GET',
        k % 50 === 0 ? '/robots.txt' : `${pick(PAGES)}?p=${k}`,
        rnd() < 0.05 ? 404 : 200,
        pick(uas),
      );
    }
  }
  // AI crawlers: fast bursts but polite paths.
  for (const [ip, ua] of [
    [
      '192.0.2.30',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
    ],
    [
      '192.0.2.31',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)',
    ],
  ] as Array<[string, string]>) {
    const t0 = start + Math.floor(rnd() * DAY * 0.8);
    for (let k = 0; k < 240; k++) add(ip, 'ai_crawler', t0 + k * 400, 'GET', `/blog/post-${k}`, 200, ua);
  }

  // Attackers.
  const scannerPaths = [
    '/.env',
    '/.git/config',
    '/wp-login.php',
    '/phpmyadmin/',
    '/server-status',
    '/backup.sql',
    '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php',
    '/xmlrpc.php',
    '/config.php',
    '/../../etc/passwd',
  ];
  for (const [ip, ua] of [
    ['203.0.113.50', 'Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)'],
    ['203.0.113.51', 'sqlmap/1.7.2#stable (https://sqlmap.org)'],
    ['2001:db8:dead::1', 'Mozilla/5.0 zgrab/0.x'],
  ] as Array<[string, string]>) {
    const t0 = start + Math.floor(rnd() * DAY * 0.9);
    for (let k = 0; k < 120; k++)
      add(
        ip,
        'scanner',
        t0 + k * 250,
        'GET',
        `${pick(scannerPaths)}${k % 3 === 0 ? `?id=${k}` : ''}`,
        404,
        ua,
      );
  }
  for (const ip of ['198.51.100.150', '198.51.100.151']) {
    const t0 = start + Math.floor(rnd() * DAY * 0.9);
    for (let k = 0; k < 200; k++)
      add(ip, 'login_bruteforce', t0 + k * 1_500, 'POST', '/wp-login.php', 200, BROWSERS[0] as string);
  }
  // A botnet: 40 IPs in 40 different /24s (198.18.0.0/15, the benchmarking range), one odd UA, a few xmlrpc/.env hits each, in the same hour.
  const botnetUa = 'Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0; XBLWP7)';
  const t0 = start + 13 * 3_600_000;
  for (let b = 0; b < 40; b++) {
    const ip = `198.18.${b}.${10 + b}`;
    for (let k = 0; k < 4; k++)
      add(
        ip,
        'botnet',
        t0 + b * 1_000 + k * 30_000,
        k % 2 === 0 ? 'POST' : 'GET',
        k % 2 === 0 ? '/xmlrpc.php' : '/.env',
        k % 2 === 0 ? 200 : 404,
        botnetUa,
      );
  }
  // A scraper rotating 20 browser UAs from one IP.
  const rotating = Array.from(
    { length: 20 },
    (_, k) =>
      `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + k}.0.0.0 Safari/537.36`,
  );
  const s0 = start + Math.floor(rnd() * DAY * 0.9);
  for (let k = 0; k < 300; k++)
    add(
      '198.51.100.160',
      'ua_rotating_scraper',
      s0 + k * 2_000,
      'GET',
      `/products/item-${k}`,
      200,
      rotating[k % 20] as string,
    );
  // A hostile /24: 8 IPs each probing .git and .env with a common browser UA.
  for (let h = 0; h < 8; h++) {
    const ip = `203.0.113.${200 + h}`;
    const h0 = start + Math.floor(rnd() * DAY * 0.9);
    for (const path of ['/.git/config', '/.env', '/.git/HEAD', '/.env.bak'])
      add(ip, 'hostile_subnet', h0 + Math.floor(rnd() * 60_000), 'GET', path, 404, BROWSERS[1] as string);
  }

  events.sort((a, b) => a.t - b.t);
  return { lines: events.map((e) => e.line), labels, botnetUa };
}
