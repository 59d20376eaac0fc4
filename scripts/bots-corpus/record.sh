#!/usr/bin/env bash
# Records real access and error logs for tests/corpora/bots/: a local nginx and Apache (with
# ModSecurity and the Debian OWASP CRS) on loopback ports, benign browsing from simulated
# addresses (benign.mjs, X-Forwarded-For trusted from loopback), and real attack tools run one
# after another. Each tool's lines (client 127.0.0.1) are recorded as a segment of line numbers;
# build.mjs gives every segment its own address afterwards, deterministically.
# Needs (Debian): nginx apache2 libapache2-mod-security2 modsecurity-crs sqlmap wapiti nmap
# gobuster ffuf dirb whatweb wfuzz; Nikto from its git repository (NIKTO=/path/to/nikto.pl).
# Usage: record.sh OUTDIR   (loopback only; every tool bounded by `timeout`)
set -u
REC=$(realpath -m "${1:?usage: record.sh OUTDIR}")
HERE=$(dirname "$(realpath "$0")")
SITE=$REC/site
NIKTO=${NIKTO:-/tmp/wtbots-nikto/program/nikto.pl}
T=${TOOL_TIMEOUT:-90}
rm -rf "$REC" && mkdir -p "$REC/nginx/tmp" "$REC/apache" "$REC/out" && chmod 1777 "$REC/nginx/tmp"
cp -r "$HERE/site" "$SITE"
chmod -R a+rX "$REC"
# editor:correct-horse (apr1), for the auth-failure lines.
printf 'editor:%s\n' "$(openssl passwd -apr1 correct-horse)" > "$REC/htpasswd"
chmod a+r "$REC/htpasswd"
sed -e "s#__REC__#$REC#g" -e "s#__SITE__#$SITE#g" "$HERE/nginx.conf" > "$REC/nginx.conf"
sed -e "s#__REC__#$REC#g" -e "s#__SITE__#$SITE#g" "$HERE/apache.conf" > "$REC/apache.conf"
chown -R www-data "$REC/apache"
nginx -c "$REC/nginx.conf" || exit 1
apache2 -f "$REC/apache.conf" -k start || { nginx -c "$REC/nginx.conf" -s stop; exit 1; }
stop() {
  nginx -c "$REC/nginx.conf" -s stop
  apache2 -f "$REC/apache.conf" -k stop
}
trap stop EXIT
sleep 1

BROWSER='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
WL=/usr/share/dirb/wordlists/small.txt
INJ=/usr/share/wfuzz/wordlist/Injections

# One tool run: NAME SERVER(nginx|apache) command... ; appends "name server access_from access_to error_from error_to".
seg() {
  local name=$1 srv=$2
  shift 2
  local acc err
  if [ "$srv" = nginx ]; then acc=$REC/nginx/access.log err=$REC/nginx/error.log; else acc=$REC/apache/access_log err=$REC/apache/error_log; fi
  local a0 e0
  a0=$(wc -l < "$acc"); e0=$(wc -l < "$err")
  echo "== $name on $srv: $*" >> "$REC/out/tools.txt"
  timeout --kill-after=5 "$T" "$@" >> "$REC/out/$name-$srv.out" 2>&1 < /dev/null
  sleep 1
  echo -e "$name\t$srv\t$a0\t$(wc -l < "$acc")\t$e0\t$(wc -l < "$err")" >> "$REC/segments.tsv"
}

tools() {
  local srv=$1 port=$2
  local U=http://127.0.0.1:$port
  seg nikto "$srv" perl "$NIKTO" -h "$U" -maxtime "$((T - 10))s" -ask no -nointeractive
  seg sqlmap "$srv" sqlmap -u "$U/products/index.html?id=1" --batch --level=2 --risk=1 --flush-session --output-dir="$REC/out/sqlmap-$srv" --disable-coloring
  seg sqlmap-random-agent "$srv" sqlmap -u "$U/search.html?q=shoes" --batch --random-agent --flush-session --output-dir="$REC/out/sqlmap2-$srv" --disable-coloring
  seg wapiti "$srv" wapiti -u "$U/" --flush-session --max-scan-time "$((T - 15))" -f txt -o "$REC/out/wapiti-$srv"
  seg nmap-http-scripts "$srv" nmap -Pn -n -sV --version-light -p "$port" --script "http-* and not (dos or external or broadcast)" --script-timeout 40s --script-args "unpwdb.timelimit=20s,brute.firstonly=true" 127.0.0.1
  seg gobuster "$srv" gobuster dir -u "$U" -w "$WL" -t 4 -q --no-error
  seg ffuf "$srv" ffuf -u "$U/FUZZ" -w "$WL" -t 4 -s
  seg ffuf-sqli-browser-ua "$srv" ffuf -u "$U/products/index.html?id=FUZZ" -w "$INJ/SQL.txt" -t 2 -s -H "User-Agent: $BROWSER"
  seg dirb "$srv" dirb "$U" "$WL" -S -r
  seg whatweb "$srv" whatweb -a 3 "$U"
  seg wfuzz-traversal-browser-ua "$srv" wfuzz -w "$INJ/Traversal.txt" -H "User-Agent: $BROWSER" "$U/index.html?file=FUZZ"
  seg wfuzz-xss "$srv" wfuzz -w "$INJ/XSS.txt" "$U/search.html?q=FUZZ"
  seg wfuzz-methods "$srv" wfuzz -X FUZZ -w /usr/share/wfuzz/wordlist/general/http_methods.txt "$U/"
}

node "$HERE/benign.mjs" 18080 1 "$REC/labels-nginx.tsv" &
B1=$!
node "$HERE/benign.mjs" 18081 2 "$REC/labels-apache.tsv" &
B2=$!
tools nginx 18080 &
N=$!
tools apache 18081 &
A=$!
wait $B1 $B2 $N $A
echo "recorded in $REC"
