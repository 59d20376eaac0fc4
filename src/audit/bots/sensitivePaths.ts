/** Paths nobody but an attacker asks for on a typical site: each rule's id names what is probed. */
export interface ProbeRule {
  id: string;
  re: RegExp;
}

export const PROBE_RULES: ProbeRule[] = [
  { id: 'env_file', re: /\/\.env(\.|$|\?|\/)/i },
  { id: 'git_repo', re: /\/\.(git|svn|hg)(\/|$)/i },
  { id: 'wp_login', re: /\/wp-login\.php/i },
  { id: 'xmlrpc', re: /\/xmlrpc\.php/i },
  { id: 'wp_admin_probe', re: /\/wp-(admin|includes|content)\/.*\.php|\/wp-config/i },
  { id: 'phpmyadmin', re: /\/(php-?my-?admin|pma|myadmin|mysqladmin|adminer)(\/|\.php|$)/i },
  // Archives only under names that mean "the whole site" or "a dump": sites do serve .tar.gz downloads.
  {
    id: 'backup_file',
    re: /\.(bak|old|orig|save|swp|sql)(\?|$)|\/(backup|backups|dump|db|database|site|www|wwwroot|htdocs|public_html|web)\.(zip|tar|tar\.gz|tgz|rar|7z|sql\.gz)(\?|$)|\.php~$/i,
  },
  { id: 'server_status', re: /\/server-(status|info)(\/|\?|$)/i },
  {
    id: 'config_file',
    re: /\/(config\.(php|json|ya?ml|inc)|web\.config|\.htaccess|\.htpasswd|\.DS_Store|composer\.(json|lock)|docker-compose\.ya?ml|\.aws\/credentials)/i,
  },
  { id: 'shell_upload', re: /\/(shell|cmd|c99|r57|webshell|alfa|wso)\.php|\/cgi-bin\/.*\.(sh|cgi|pl)/i },
  {
    id: 'known_exploit',
    re: /\/(vendor\/phpunit\/.*eval-stdin|solr\/admin|actuator(\/|$)|boaform|HNAP1|setup\.cgi|console(\/|$)|\.well-known\/.*\.php|owa\/auth|remote\/fgt_lang|\+CSCOE\+|manager\/html|jmx-console|invoker\/)/i,
  },
  { id: 'traversal', re: /(\.\.\/|\.\.%2f|%2e%2e%2f|\/etc\/passwd|\/proc\/self)/i },
];

/** Login endpoints where a POST flood means credential stuffing. */
export const LOGIN_PATH =
  /\/(wp-login\.php|xmlrpc\.php|login|signin|sign-in|user\/login|admin\/login|auth|session|account\/login|administrator\/index\.php)(\/|\?|$)/i;

/** The id of the first probe rule a path matches, or undefined. */
export function probeOf(path: string): string | undefined {
  // Most paths are ordinary: one cheap test before twelve regexes.
  if (!/[.%~]|admin|cgi|console|actuator|manager|owa|boaform|solr|HNAP|backup|invoker/i.test(path))
    return undefined;
  return PROBE_RULES.find((r) => r.re.test(path))?.id;
}
