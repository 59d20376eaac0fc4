#!/usr/bin/env node
// Benign browsing for the analyze_bots corpus: simulated humans, crawlers, a monitor and a feed
// reader, each with its own address announced in X-Forwarded-For (the recording servers trust it
// from loopback only). Deterministic (seeded), bounded in count. Loopback targets only.
// Usage: node benign.mjs PORT IP_PREFIX_SEED LABELS_OUT
import http from 'node:http';
import { writeFileSync } from 'node:fs';

const [port, seedArg, labelsOut] = process.argv.slice(2);
const seed = Number(seedArg);
let a = seed;
const rnd = () => {
  a = (a + 0x6d2b79f5) | 0;
  let t = Math.imul(a ^ (a >>> 15), 1 | a);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
];
// Real-world queries, punctuation and SQL/HTML-looking words included: benign text must stay benign.
const QUERIES = [
  'blue widget',
  "O'Reilly books",
  'select a size',
  'union station parking',
  'drop shipping policy',
  'C++ & C# guide',
  '"exact phrase"',
  'price < 20',
  'rock & roll t-shirt',
  'where is my order?',
  'script writing course',
  '50% off',
  "tom's diner",
  'alert me when back in stock',
  'win 10 drivers',
  'etc',
  'passwd reset help',
  'cmd key shortcuts',
  'how to use ../ in paths',
  'café crème',
];
const PAGES = [
  '/',
  '/blog/',
  '/blog/post-1.html',
  '/blog/post-2.html',
  '/about.html',
  '/products/index.html?id=1',
  '/products/index.html?id=2&color=blue',
  '/products/index.html?id=3&sort=price',
  '/contact.html?subject=hello',
];
const EXTRA_PAGES = [
  '/?utm_source=newsletter&utm_medium=email&utm_campaign=winter',
  '/blog/post-1.html?ref=https%3A%2F%2Fnews.ycombinator.com%2Fitem%3Fid%3D1',
  '/blog/post-2.html?fbclid=IwAR0abcdefghijklmnop',
  '/index.html?page=about',
  '/about.html?redirect_to=https%3A%2F%2Fwww.example.test%2Fblog%2F',
  '/blog/post-1.html?replytocom=1',
  '/products/index.html?id=2&color=blue&size=M',
  '/search.html?q=&page=2',
];

function get(ip, ua, path, { referer, auth, method = 'GET' } = {}) {
  return new Promise((resolve) => {
    const headers = { 'User-Agent': ua, 'X-Forwarded-For': ip, Accept: 'text/html,*/*' };
    if (referer) headers.Referer = `http://www.example.test${referer}`;
    if (auth) headers.Authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
    const req = http.request(
      { host: '127.0.0.1', port: Number(port), path, method, headers, agent: false },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', resolve);
    req.setTimeout(5000, () => req.destroy());
    req.end();
  });
}
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function human(ip) {
  const ua = pick(BROWSERS);
  const views = 3 + Math.floor(rnd() * 12);
  let prev;
  for (let i = 0; i < views; i++) {
    const x = rnd();
    let page = x < 0.15 ? pick(EXTRA_PAGES) : pick(PAGES);
    if (x > 0.85) page = `/search.html?q=${encodeURIComponent(pick(QUERIES)).replace(/%20/g, '+')}`;
    if (x > 0.95)
      page = `/contact.html?name=${encodeURIComponent("Ann O'Neil")}&email=ann%40example.org&message=${encodeURIComponent('Hi, where is order #1234? Thanks -- Ann (sent from my phone)')}`;
    await get(ip, ua, page, { referer: prev });
    if (i === 0 || rnd() < 0.3) {
      for (const asset of ['/static/site.css', '/static/app.js', '/static/logo.png'])
        await get(ip, ua, asset, { referer: page });
      if (i === 0) await get(ip, ua, '/favicon.ico', { referer: page });
    }
    prev = page;
    await pause(20 + rnd() * 200);
  }
}

async function admin(ip) {
  const ua = pick(BROWSERS);
  await get(ip, ua, '/admin/');
  await get(ip, ua, '/admin/', { auth: 'editor:wrong-password' });
  await get(ip, ua, '/admin/', { auth: 'editor:correct-horse' });
  await get(ip, ua, '/admin/index.html', { auth: 'editor:correct-horse' });
}

const CRAWLERS = [
  ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'crawler'],
  ['Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 'crawler'],
  [
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
    'crawler',
  ],
  ['Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)', 'crawler'],
];
async function crawler(ip, ua) {
  for (const p of [
    '/robots.txt',
    '/sitemap.xml',
    ...PAGES,
    ...EXTRA_PAGES.slice(0, 4),
    '/old-page.html',
    '/blog/feed.xml',
  ]) {
    await get(ip, ua, p);
    await pause(30);
  }
}
async function monitor(ip) {
  for (let i = 0; i < 30; i++) {
    await get(ip, 'Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)', '/', {
      method: i % 2 ? 'HEAD' : 'GET',
    });
    await pause(50);
  }
}
async function feeds(ip) {
  for (let i = 0; i < 10; i++) {
    await get(ip, 'Feedly/1.0 (+http://www.feedly.com/fetcher.html; 3 subscribers)', '/blog/feed.xml');
    await pause(50);
  }
}

const labels = [];
// Addresses: documentation ranges, spread over three /24s shared with the attackers.
const nets = ['192.0.2', '198.51.100', '203.0.113'];
const hostBase = 100 + (seed % 2) * 60; // two servers, disjoint host parts
const jobs = [];
for (let i = 0; i < 45; i++) {
  const ip = `${nets[i % 3]}.${hostBase + Math.floor(i / 3)}`;
  labels.push([ip, 'human']);
  jobs.push(() => human(ip));
}
for (let i = 0; i < 2; i++) {
  const ip = `${nets[i]}.${hostBase + 20}`;
  labels.push([ip, 'human']);
  jobs.push(() => admin(ip));
}
CRAWLERS.forEach(([ua, label], i) => {
  const ip = `${nets[i % 3]}.${hostBase + 30 + i}`;
  labels.push([ip, label]);
  jobs.push(() => crawler(ip, ua));
});
labels.push([`${nets[0]}.${hostBase + 40}`, 'monitor']);
jobs.push(() => monitor(`${nets[0]}.${hostBase + 40}`));
labels.push([`${nets[1]}.${hostBase + 41}`, 'feed_reader']);
jobs.push(() => feeds(`${nets[1]}.${hostBase + 41}`));

// A few at a time, so sessions overlap as real visits do.
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < jobs.length) await jobs[next++]();
  }),
);
writeFileSync(labelsOut, labels.map((l) => l.join('\t')).join('\n') + '\n');
