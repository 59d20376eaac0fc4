/**
 * User-agent classification from well-kept data: `isbot` (one fast pattern: bot or not) and
 * `crawler-user-agents` (1,500 patterns with category tags). Our own additions, for what those
 * lack, are the EXTRA list below and nowhere else.
 */
import crawlers from 'crawler-user-agents';
import { isbot } from 'isbot';
import { matchHeader, scannerOf, type SignatureHit } from './signatures.js';

export const CLIENT_CLASSES = [
  'human',
  'search_engine',
  'ai_crawler',
  'seo_tool',
  'monitor',
  'feed_reader',
  'library',
  'scanner',
  'other_crawler',
  'unknown_automation',
] as const;
export type ClientClass = (typeof CLIENT_CLASSES)[number];

/** crawler-user-agents tags to our classes, most telling first (PerplexityBot is ai-crawler and search-engine). */
const TAG_CLASS: Array<[string, ClientClass]> = [
  ['scanner', 'scanner'],
  ['ai-crawler', 'ai_crawler'],
  ['search-engine', 'search_engine'],
  ['seo', 'seo_tool'],
  ['monitoring', 'monitor'],
  ['feed-reader', 'feed_reader'],
  ['http-library', 'library'],
  ['browser-automation', 'unknown_automation'],
  ['advertising', 'other_crawler'],
  ['social-preview', 'other_crawler'],
  ['archiver', 'other_crawler'],
  ['academic', 'other_crawler'],
];

/**
 * What the data sets lack (checked against crawler-user-agents 1.60 and the CRS scanner list in
 * ./data/crs.ts, which is checked first): scanners seen in the wild.
 */
const EXTRA: Array<{ pattern: RegExp; cls: ClientClass; name: string }> = [
  { pattern: /\bnuclei\b/i, cls: 'scanner', name: 'Nuclei' },
  { pattern: /\bl9explore\b|\bl9tcpid\b/i, cls: 'scanner', name: 'LeakIX' },
  { pattern: /\bzmap\b/i, cls: 'scanner', name: 'ZMap' },
  { pattern: /^Hello,? World/i, cls: 'scanner', name: 'Hello World probe' },
  // Feed readers and an SEO crawler seen in the real Apache sample (tests/fixtures/logs/elastic-apache-10k.log).
  {
    pattern: /UniversalFeedParser|Feed ?Fetcher|Liferea|Newsify|aggregator:Spinn3r/i,
    cls: 'feed_reader',
    name: 'feed reader',
  },
  { pattern: /\bEzooms\b/, cls: 'seo_tool', name: 'Ezooms (Moz)' },
];

/** Search engines whose claims can be checked by reverse + forward DNS, with their domains. */
export const VERIFIABLE_ENGINES: Array<{ pattern: RegExp; name: string; domains: string[] }> = [
  {
    pattern: /Googlebot|Google-InspectionTool|AdsBot-Google|Storebot-Google/,
    name: 'Google',
    domains: ['googlebot.com', 'google.com', 'googleusercontent.com'],
  },
  { pattern: /bingbot|BingPreview|msnbot/i, name: 'Bing', domains: ['search.msn.com'] },
  { pattern: /Applebot/, name: 'Apple', domains: ['applebot.apple.com'] },
  { pattern: /YandexBot|YandexImages/, name: 'Yandex', domains: ['yandex.ru', 'yandex.net', 'yandex.com'] },
  { pattern: /Baiduspider/, name: 'Baidu', domains: ['baidu.com', 'baidu.jp'] },
];

interface Compiled {
  re: RegExp;
  cls: ClientClass;
  name: string;
}

const COMPILED: Compiled[] = [
  ...EXTRA.map((e) => ({ re: e.pattern, cls: e.cls, name: e.name })),
  ...(crawlers as Array<{ pattern: string; tags?: string[] }>).flatMap((c) => {
    const tag = TAG_CLASS.find(([t]) => c.tags?.includes(t));
    try {
      return [
        {
          re: new RegExp(c.pattern),
          cls: tag ? tag[1] : 'other_crawler',
          name: c.pattern.replace(/\\/g, ''),
        },
      ];
    } catch {
      return []; // a pattern JS cannot compile: skip it rather than fail start-up
    }
  }),
];

export interface Classification {
  cls: ClientClass;
  /** The matched crawler pattern or product, when a bot. */
  name: string | null;
  /** Set when the UA claims a search engine that DNS can verify. */
  claimsEngine: string | null;
  emptyUa: boolean;
}

/** Classifies one user agent. Callers cache by UA: most logs have far fewer UAs than lines. */
export function classifyUserAgent(ua: string): Classification {
  const trimmed = ua.trim();
  const emptyUa = trimmed === '' || trimmed === '-';
  const engine = VERIFIABLE_ENGINES.find((e) => e.pattern.test(trimmed));
  if (emptyUa) return { cls: 'unknown_automation', name: null, claimsEngine: null, emptyUa };
  // The OWASP CRS scanner list first: isbot and crawler-user-agents miss Nikto, wapiti, whatweb,
  // Nmap's NSE ... (Nikto's "Mozilla/5.00 (Nikto/2.1.6)" passed for a browser).
  const scanner = scannerOf(trimmed);
  if (scanner) return { cls: 'scanner', name: scanner, claimsEngine: engine?.name ?? null, emptyUa };
  // isbot is one combined pattern: most (human) UAs leave here without the 1,500-pattern scan.
  const extra = EXTRA.find((e) => e.pattern.test(trimmed));
  if (!extra && !isbot(trimmed)) return { cls: 'human', name: null, claimsEngine: null, emptyUa };
  const hit = COMPILED.find((c) => c.re.test(trimmed));
  return {
    cls: hit?.cls ?? 'unknown_automation',
    name: hit?.name ?? null,
    claimsEngine: engine?.name ?? null,
    emptyUa,
  };
}

/**
 * A bounded cache: at most `max` distinct UAs are remembered (scanners can send millions). It
 * also keeps the UA's attack payload verdict (Shellshock, Log4Shell ... in the header): one
 * lookup per line for both.
 */
export class UaClassifier {
  private readonly cache = new Map<string, Classification & { uaAttack: SignatureHit | null }>();
  constructor(private readonly max = 50_000) {}
  classify(ua: string): Classification & { uaAttack: SignatureHit | null } {
    let c = this.cache.get(ua);
    if (!c) {
      c = { ...classifyUserAgent(ua), uaAttack: matchHeader(ua) ?? null };
      if (this.cache.size >= this.max) this.cache.clear();
      this.cache.set(ua, c);
    }
    return c;
  }
}
