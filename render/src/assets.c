/*
 * assets.c - the waterfall page's style and script, and its
 * Content-Security-Policy: the script is allowed by its SHA-256, so the
 * policy forbids every other script, inline or not, and any fetch.
 *
 * DESIGN: the script reads the page's data blob (a <script
 * type="application/json">, never run) with JSON.parse, writes only
 * through textContent (never innerHTML), folds a subtree by hiding the
 * rows between a parent and the end of its subtree (one pass over the
 * rows), and builds a span's details panel only when it is opened, so
 * a 2,000-span page holds compact rows and nothing else. It marks the
 * body data-ready="1" when it has run (the browser tests check it).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "render/waterfall.h"
#include "wf_int.h"

const char wf_style[] =
	"*{box-sizing:border-box}"
	"body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fff}"
	"header{padding:12px 16px 8px}"
	"h1{font:600 15px ui-monospace,Menlo,Consolas,monospace;margin:0 0 4px;overflow-wrap:anywhere}"
	"nav{margin-bottom:6px}nav a{margin-right:1em}"
	".sum{color:#555}.lg{margin-top:4px}.lg span{margin-right:1em;white-space:nowrap}"
	".lg b{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;background:var(--c)}"
	".tools{margin-top:6px}.nojs .tools{display:none}"
	"button{font:12px system-ui,sans-serif;padding:2px 8px;margin-right:4px}"
	".hd,.r{display:flex;align-items:stretch}"
	".hd{position:sticky;top:0;z-index:2;background:#f4f5f7;border-top:1px solid #ccc;"
	"border-bottom:1px solid #ccc;height:24px;font-size:11px;color:#555}"
	".n{flex:0 0 34%;max-width:34%;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding:1px 6px 1px 4px}"
	".hd .n,.hd .du{line-height:20px}.hd .n{padding-left:8px}"
	".du{flex:0 0 84px;text-align:right;padding:1px 8px;color:#555;font-variant-numeric:tabular-nums;white-space:nowrap}"
	".t{flex:1;position:relative;margin-right:12px;"
	"background:linear-gradient(90deg,#e4e4e4 1px,transparent 1px) 0 0/25% 100%;border-right:1px solid #e4e4e4}"
	".ru i{position:absolute;top:4px;font-style:normal;white-space:nowrap;transform:translateX(-50%)}"
	".ru i.a{transform:none;padding-left:3px}.ru i.z{transform:translateX(-100%);padding-right:3px}"
	".r{border-bottom:1px solid #f0f0f0;min-height:20px;cursor:pointer}"
	".r[hidden]{display:none}.r:hover{background:#f5f8ff}.r.sel{background:#e3edfd}"
	".b{position:absolute;top:4px;height:12px;min-width:2px;border-radius:2px;background:var(--c)}"
	".sv{font-weight:600;color:var(--c);margin-right:.4em}"
	".err .b{box-shadow:0 0 0 2px #d62728}.err .op{color:#c62828}.err .sv::before{content:\"\\26a0 \";color:#d62728}"
	".cr .du{font-weight:600}"
	".tg,.lf{display:inline-block;width:14px;color:#666;font-style:normal;text-align:center}"
	".tg::before{content:\"\\25be\"}.x .tg::before{content:\"\\25b8\"}.nojs .tg{visibility:hidden}"
	".sk{color:#a66a00}"
	"#wf-detail{border:1px solid #cfd8e3;background:#fbfcfe;margin:2px 12px 6px 24px;padding:8px 12px;font-size:12px}"
	"#wf-detail h3{font-size:12px;margin:8px 0 2px}"
	".kv{border-collapse:collapse}.kv th{text-align:left;color:#555;font-weight:normal;padding:1px 12px 1px 0;"
	"vertical-align:top;white-space:nowrap}"
	".kv td{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere}"
	".logs{margin:0;padding:0;list-style:none;font-family:ui-monospace,Menlo,Consolas,monospace}"
	".logs li{padding:2px 0;border-top:1px solid #eee;white-space:pre-wrap;overflow-wrap:anywhere}"
	".logs .o{color:#777;margin-right:8px}.logs .lv{margin-right:8px;font-weight:600}"
	".logs .f{margin-left:8px;color:#444}.logs i{font-style:normal;color:#777}.logs .e{color:#c62828}"
	".cl{float:right}.note{color:#a66a00}"
	".c0{--c:#4e79a7}.c1{--c:#f28e2b}.c2{--c:#59a14f}.c3{--c:#b07aa1}.c4{--c:#76b7b2}.c5{--c:#edc948}"
	".c6{--c:#9c755f}.c7{--c:#ff9da7}.c8{--c:#2f6f9f}.c9{--c:#8cd17d}.c10{--c:#bab0ac}.c11{--c:#d37295}";

const char wf_script[] =
	"(function(){'use strict';"
	"var D=JSON.parse(document.getElementById('wf-data').textContent),S=D.spans,n=S.length,"
	"W=document.getElementById('waterfall'),R=W.querySelectorAll('.r'),X=new Uint8Array(n),"
	"P=document.getElementById('wf-detail'),sel=-1;"
	"document.body.classList.remove('nojs');"
	"function fd(ns){if(ns===null||ns===undefined)return '?';if(ns===0)return '0';var a=Math.abs(ns);"
	"if(a<1e3)return ns+'ns';if(a<1e6)return (ns/1e3).toFixed(a<1e4?2:a<1e5?1:0)+'\\u00b5s';"
	"if(a<1e9)return (ns/1e6).toFixed(a<1e7?2:a<1e8?1:0)+'ms';return (ns/1e9).toFixed(a<1e10?2:1)+'s';}"
	"function el(t,c,x){var e=document.createElement(t);if(c)e.className=c;"
	"if(x!==undefined&&x!==null)e.textContent=x;return e;}"
	"function refresh(){var h=-1;for(var i=0;i<n;i++){var hid=i<=h;"
	"if(R[i].hidden!==hid)R[i].hidden=hid;R[i].classList.toggle('x',X[i]===1);"
	"if(!hid&&X[i]&&S[i].e>h)h=S[i].e;}"
	"if(sel>=0&&R[sel].hidden)close();}"
	"function close(){P.hidden=true;P.removeAttribute('data-span');"
	"if(sel>=0)R[sel].classList.remove('sel');sel=-1;}"
	"function kv(tb,k,v){var tr=el('tr');tr.appendChild(el('th',null,k));tr.appendChild(el('td',null,v));"
	"tb.appendChild(tr);}"
	"function show(i){if(sel===i){close();return;}close();sel=i;R[i].classList.add('sel');"
	"var s=S[i];P.textContent='';var b=el('button','cl','\\u00d7');b.type='button';b.title='close';"
	"P.appendChild(b);var h=el('div','ph c'+s.c);h.appendChild(el('span','sv',s.svc));"
	"h.appendChild(el('span','op',s.op));P.appendChild(h);var t=el('table','kv');"
	"kv(t,'span',s.id);if(s.p>=0)kv(t,'parent',S[s.p].id);kv(t,'start','+'+fd(s.s));"
	"kv(t,'duration',fd(s.d));if(s.st)kv(t,'status',s.st);if(s.err)kv(t,'error','true');"
	"if(s.cr)kv(t,'critical path','yes');"
	"if(s.sk)kv(t,'clock skew','moved '+fd(s.sk)+' into its parent\\u2019s window');P.appendChild(t);"
	"P.appendChild(el('h3',null,'Tags ('+s.tags.length+')'));t=el('table','kv tags');"
	"s.tags.forEach(function(g){kv(t,g[0],g[1]);});P.appendChild(t);"
	"P.appendChild(el('h3',null,'Logs ('+s.logs.length+')'));var o=el('ol','logs');"
	"s.logs.forEach(function(l){var li=el('li',l[4]?'e':null);"
	"li.appendChild(el('span','o',l[0]===null?'':'+'+fd(l[0])));li.appendChild(el('span','lv',l[1]));"
	"li.appendChild(el('span','m',l[2]));l[3].forEach(function(f){var x=el('span','f');"
	"x.appendChild(el('i',null,f[0]+'='));x.appendChild(document.createTextNode(f[1]));li.appendChild(x);});"
	"o.appendChild(li);});P.appendChild(o);R[i].after(P);P.dataset.span=s.id;P.hidden=false;}"
	"W.addEventListener('click',function(ev){var r=ev.target.closest('.r');if(!r)return;"
	"var i=+r.dataset.i;if(ev.target.classList.contains('tg')&&S[i].e>i){X[i]^=1;refresh();return;}show(i);});"
	"P.addEventListener('click',function(ev){if(ev.target.classList.contains('cl'))close();});"
	"function all(v){for(var i=0;i<n;i++)X[i]=S[i].e>i?v:0;refresh();}"
	"document.getElementById('wf-collapse').addEventListener('click',function(){all(1);});"
	"document.getElementById('wf-expand').addEventListener('click',function(){all(0);});"
	"document.body.dataset.ready='1';})();";

/* ---- SHA-256 (FIPS 180-4), only to name the script in the policy ---- */

static const uint32_t k256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a[8];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
		       p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(a, h, sizeof(a));
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = a[7] + (ror(a[4], 6) ^ ror(a[4], 11) ^ ror(a[4], 25)) +
			      ((a[4] & a[5]) ^ (~a[4] & a[6])) + k256[i] + w[i];
		uint32_t t2 = (ror(a[0], 2) ^ ror(a[0], 13) ^ ror(a[0], 22)) +
			      ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));

		memmove(a + 1, a, 7 * sizeof(a[0]));
		a[4] += t1;
		a[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += a[i];
}

void wf_sha256(const void *data, size_t n, unsigned char out[32])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const unsigned char *p = data;
	unsigned char tail[128] = {0};
	size_t full = n / 64 * 64, rest = n - full, tn = rest < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)n * 8;

	for (size_t i = 0; i < full; i += 64)
		sha256_block(h, p + i);
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	for (int i = 0; i < 8; i++)
		tail[tn - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (size_t i = 0; i < tn; i += 64)
		sha256_block(h, tail + i);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
}

static char csp[256];
static pthread_once_t csp_once = PTHREAD_ONCE_INIT;

static void csp_make(void)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char d[33] = {0};
	char h[48];
	size_t o = 0;

	wf_sha256(wf_script, strlen(wf_script), d);
	for (int i = 0; i < 33; i += 3) { /* 32 bytes: ten groups, then two bytes and one '=' */
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];

		h[o++] = b64[v >> 18 & 63];
		h[o++] = b64[v >> 12 & 63];
		h[o++] = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
		h[o++] = i + 2 < 32 ? b64[v & 63] : '=';
	}
	h[o] = 0;
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-%s'; base-uri 'none'; "
		 "form-action 'none'",
		 h);
}

const char *wf_csp(void)
{
	pthread_once(&csp_once, csp_make);
	return csp;
}
