# Minimal Markdown -> HTML for the reports this harness writes (headings, paragraphs, lists,
# pipe tables, fenced code, images, links, `code`, **bold**, *em*). Images are inlined as
# base64 data URIs (PNG) so report.html is one self-contained file. -v dir=RESULT_DIR
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); return s }
function b64(path,   cmd, line, out) {
  cmd = "base64 -w0 '" path "' 2>/dev/null"; out = ""
  while ((cmd | getline line) > 0) out = out line
  close(cmd); return out
}
function inline(s,   out, m, pre, alt, src, data, txt, href) {
  s = esc(s)
  # images ![alt](src)
  while (match(s, /!\[[^]]*\]\([^)]*\)/)) {
    m = substr(s, RSTART, RLENGTH); pre = substr(s, 1, RSTART - 1); s = substr(s, RSTART + RLENGTH)
    alt = m; sub(/^!\[/, "", alt); sub(/\].*$/, "", alt)
    src = m; sub(/^.*\]\(/, "", src); sub(/\)$/, "", src)
    data = b64(dir "/" src)
    out = out pre (data != "" ? "<img alt=\"" alt "\" src=\"data:image/png;base64," data "\">" : "<em>[missing image " src "]</em>")
  }
  s = out s; out = ""
  while (match(s, /\[[^]]*\]\([^)]*\)/)) {
    m = substr(s, RSTART, RLENGTH); pre = substr(s, 1, RSTART - 1); s = substr(s, RSTART + RLENGTH)
    txt = m; sub(/^\[/, "", txt); sub(/\].*$/, "", txt)
    href = m; sub(/^.*\]\(/, "", href); sub(/\)$/, "", href)
    out = out pre "<a href=\"" href "\">" txt "</a>"
  }
  s = out s
  while (match(s, /`[^`]*`/)) s = substr(s, 1, RSTART - 1) "<code>" substr(s, RSTART + 1, RLENGTH - 2) "</code>" substr(s, RSTART + RLENGTH)
  while (match(s, /\*\*[^*]+\*\*/)) s = substr(s, 1, RSTART - 1) "<strong>" substr(s, RSTART + 2, RLENGTH - 4) "</strong>" substr(s, RSTART + RLENGTH)
  while (match(s, /\*[^* ][^*]*\*/)) s = substr(s, 1, RSTART - 1) "<em>" substr(s, RSTART + 1, RLENGTH - 2) "</em>" substr(s, RSTART + RLENGTH)
  return s
}
function close_blocks() {
  if (inpara) { print "</p>"; inpara = 0 }
  if (inlist) { print "</ul>"; inlist = 0 }
  if (intable) { print "</tbody></table>"; intable = 0 }
}
function cells(line,   n, i, a, out) {
  sub(/^ *\|/, "", line); sub(/\| *$/, "", line)
  n = split(line, a, /\|/)
  for (i = 1; i <= n; i++) { gsub(/^ +| +$/, "", a[i]); C[i] = a[i] }
  return n
}
BEGIN {
  print "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>mpxlab report</title><style>"
  print "body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em;line-height:1.4}"
  print "table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top}"
  print "th{background:#eee}tr:nth-child(even){background:#f8f8f8}code{background:#f2f2f2;padding:0 2px}"
  print "pre{background:#f2f2f2;padding:0.5em;overflow-x:auto}img{max-width:100%}"
  print "</style></head><body>"
}
/^```/ { if (incode) { print "</code></pre>"; incode = 0 } else { close_blocks(); print "<pre><code>"; incode = 1 }; next }
incode { print esc($0); next }
/^#+ / { close_blocks(); h = match($0, /^#+/); lvl = RLENGTH; t = substr($0, lvl + 2); print "<h" lvl ">" inline(t) "</h" lvl ">"; next }
/^ *\|/ {
  line = $0
  if (!intable) {
    if (inpara) { print "</p>"; inpara = 0 }
    if (inlist) { print "</ul>"; inlist = 0 }
    n = cells(line); printf "<table><thead><tr>"; for (i = 1; i <= n; i++) printf "<th>%s</th>", inline(C[i]); print "</tr></thead><tbody>"
    intable = 1; sep = 1; next
  }
  if (sep) { sep = 0; if (line ~ /^ *\|[-:| ]+\| *$/) next }
  n = cells(line); printf "<tr>"; for (i = 1; i <= n; i++) printf "<td>%s</td>", inline(C[i]); print "</tr>"; next
}
/^ *- / { if (intable) { print "</tbody></table>"; intable = 0 }; if (inpara) { print "</p>"; inpara = 0 }
          if (!inlist) { print "<ul>"; inlist = 1 }; t = $0; sub(/^ *- /, "", t); print "<li>" inline(t) "</li>"; next }
/^[[:space:]]*$/ { close_blocks(); next }
{ if (intable || inlist) close_blocks(); if (!inpara) { printf "<p>"; inpara = 1 } else printf "\n"; printf "%s", inline($0); next }
END { close_blocks(); if (incode) print "</code></pre>"; print "</body></html>" }
