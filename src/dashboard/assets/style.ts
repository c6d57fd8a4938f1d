/** The dashboard's one stylesheet (served at /assets/dashboard.<hash>.css): light and dark, laptop and phone. */
export const STYLE = String.raw`
:root{color-scheme:light dark;--bg:#f6f6f3;--fg:#1c1e21;--muted:#555b61;--card:#ffffff;--line:#d9d9d2;--head:#efefea;
--accent:#b3361f;--accent-fg:#ffffff;--ok:#1a7335;--bad:#b42318;--warn:#8a5a00;--run:#0b5cb8;--code:#f1f1ec;--focus:#0b5cb8;
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
@media (prefers-color-scheme:dark){:root{--bg:#131519;--fg:#e7e7e4;--muted:#a6abb1;--card:#1c1f25;--line:#343841;--head:#22262d;
--accent:#ff8a6b;--accent-fg:#1b0b06;--ok:#57c97a;--bad:#ff7b72;--warn:#e0b050;--run:#79b8ff;--code:#0e1014;--focus:#79b8ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg)}
a{color:var(--run)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:var(--card);padding:.5rem}
.skip:focus{left:.5rem;z-index:2}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1.25rem;padding:.6rem 1rem;background:var(--card);border-bottom:1px solid var(--line)}
.brand{font-weight:700;font-size:1.1rem;color:var(--fg);text-decoration:none;display:flex;align-items:center;gap:.4rem}
.brand img{width:1.4rem;height:1.4rem}
nav.main{display:flex;gap:.15rem;flex-wrap:wrap;flex:1}
nav.main a{padding:.3rem .6rem;border-radius:.4rem;color:var(--fg);text-decoration:none}
nav.main a:hover{background:var(--head)}
nav.main a[aria-current=page]{background:var(--accent);color:var(--accent-fg)}
.who{display:flex;align-items:center;gap:.6rem;flex-wrap:wrap;font-size:.9rem;color:var(--muted)}
.who form{margin:0}
main{max-width:76rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.15rem;margin:1.5rem 0 .6rem}
section.card,.card{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:1rem;margin:0 0 1rem}
.card>h2:first-child{margin-top:0}
.muted{color:var(--muted)}
.empty{padding:1rem;border:1px dashed var(--line);border-radius:.6rem;color:var(--muted)}
.empty code,code{background:var(--code);padding:.05rem .3rem;border-radius:.25rem;font-size:.92em}
table{width:100%;border-collapse:collapse;font-size:.93rem}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--head);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.nowrap{white-space:nowrap}
tbody tr:hover{background:var(--head)}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.82rem;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.st-succeeded,.st-active,.st-idle,.st-ok{color:var(--ok)}
.st-failed,.st-error,.st-deleting,.st-bad{color:var(--bad)}
.st-running,.st-provisioning,.st-assigned,.st-scrubbing{color:var(--run)}
.st-interrupted,.st-expired,.st-draining,.st-warn{color:var(--warn)}
.st-released,.st-deleted,.st-abandoned{color:var(--muted)}
.btn,button{font:inherit;padding:.35rem .8rem;border-radius:.4rem;border:1px solid var(--line);background:var(--card);color:var(--fg);cursor:pointer}
.btn:hover,button:hover{border-color:var(--muted)}
.btn-danger{border-color:var(--bad);color:var(--bad)}
.btn-primary{background:var(--accent);border-color:var(--accent);color:var(--accent-fg)}
.inline{display:inline;margin:0}
form.filters{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:end}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:.15rem}
input,select{font:inherit;padding:.3rem .45rem;border:1px solid var(--line);border-radius:.35rem;background:var(--card);color:var(--fg)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
pre{margin:0;overflow:auto}
pre.log{background:var(--code);border:1px solid var(--line);border-radius:.5rem;padding:.75rem;max-height:36rem;font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
pre.command{background:var(--code);padding:.5rem .75rem;border-radius:.4rem;white-space:pre-wrap;overflow-wrap:anywhere}
.failures{list-style:none;padding:0;margin:0}
.failures li{border-left:4px solid var(--bad);background:var(--code);padding:.5rem .75rem;margin:.5rem 0;border-radius:0 .4rem .4rem 0}
.failures .msg{display:block;margin-top:.2rem;white-space:pre-wrap;overflow-wrap:anywhere}
.timeline{list-style:none;margin:0;padding:0 0 0 1rem;border-left:2px solid var(--line)}
.timeline li{position:relative;padding:.3rem 0 .6rem .6rem}
.timeline li::before{content:"";position:absolute;left:-1.45rem;top:.75rem;width:.7rem;height:.7rem;border-radius:50%;background:var(--accent)}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
meter{width:100%;height:1rem}
.cap{margin:.4rem 0 .8rem}
.cap .line{display:flex;justify-content:space-between;gap:1rem;font-size:.92rem}
figure.chart{margin:0 0 1rem}
figure.chart figcaption{font-weight:600;margin-bottom:.3rem}
figure.chart svg{width:100%;height:auto;display:block}
.chart .bar{fill:var(--accent)}
.chart .axis{stroke:var(--line)}
.chart text{fill:var(--muted);font-size:11px;font-family:inherit}
.phases{display:grid;grid-template-columns:max-content 1fr max-content;gap:.25rem .75rem;align-items:center}
.phases meter{height:.8rem}
.notice{padding:.6rem .9rem;border-radius:.5rem;border:1px solid var(--line);background:var(--card);margin:0 0 1rem}
.notice.ok{border-color:var(--ok)}
.notice.bad{border-color:var(--bad)}
.pager{display:flex;gap:1rem;margin-top:.75rem}
ul.counts{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0;margin:.5rem 0}
ul.counts li{border:1px solid var(--line);border-radius:.5rem;padding:.3rem .7rem;background:var(--head)}
ul.counts strong{font-size:1.15rem}
h3{font-size:1rem;margin:1rem 0 .4rem}
footer{max-width:76rem;margin:0 auto;padding:1rem;color:var(--muted);font-size:.85rem}
.f0{color:#2e3436}.f1{color:#c01c28}.f2{color:#26a269}.f3{color:#a2734c}.f4{color:#12488b}.f5{color:#a347ba}.f6{color:#2aa1b3}.f7{color:#6b6b6b}
.f8{color:#5e5c64}.f9{color:#f66151}.f10{color:#33a35a}.f11{color:#9a7a00}.f12{color:#2a7bde}.f13{color:#c061cb}.f14{color:#0f8c9c}.f15{color:#3d3d3d}
.b0{background:#2e3436;color:#fff}.b1{background:#c01c28;color:#fff}.b2{background:#26a269;color:#fff}.b3{background:#a2734c;color:#fff}.b4{background:#12488b;color:#fff}.b5{background:#a347ba;color:#fff}.b6{background:#2aa1b3;color:#fff}.b7{background:#d0cfcc}
.b8{background:#5e5c64;color:#fff}.b9{background:#f66151}.b10{background:#33d17a}.b11{background:#e9ad0c}.b12{background:#2a7bde;color:#fff}.b13{background:#c061cb}.b14{background:#33c7de}.b15{background:#fff}
@media (prefers-color-scheme:dark){.f0{color:#8b8f94}.f1{color:#ff6b6b}.f2{color:#5fd38d}.f3{color:#e5c07b}.f4{color:#6ea8fe}.f5{color:#d38aea}.f6{color:#56d4e0}.f7{color:#d0d0d0}
.f8{color:#9da0a6}.f9{color:#ff8f8f}.f10{color:#7ee2a8}.f11{color:#f5d67b}.f12{color:#8fbcff}.f13{color:#e5a8f5}.f14{color:#8ce8f0}.f15{color:#fff}}
.ab{font-weight:700}.ad{opacity:.7}.ai{font-style:italic}.au{text-decoration:underline}
@media (max-width:44rem){
main{padding:.6rem}
header.top{padding:.5rem .6rem}
table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.stack tr{display:block;border:1px solid var(--line);border-radius:.5rem;margin:0 0 .6rem;padding:.3rem .5rem;background:var(--card)}
table.stack td{display:flex;justify-content:space-between;align-items:baseline;gap:1rem;border:0;padding:.2rem 0}
table.stack td::before{content:attr(data-label);color:var(--muted);font-weight:600;flex:none}
table.stack td .v{text-align:right;min-width:0;overflow-wrap:anywhere}
table.stack td:empty,table.stack td .v:empty{display:none}
.phases{grid-template-columns:max-content 1fr}
.phases meter,.phases>span:empty{display:none}
}
`;
