/* cli/report_page.c — the static part of `strata report`'s HTML page: CSS and
 * the JavaScript that turns the embedded JSON data (cli/cmd_report.c) into
 * inline SVG.  No network, no external fonts: one self-contained file.
 *
 * Data contract (the <script id="strata-data" type="application/json">):
 *   {"title", "inputs": [...],
 *    "captures": [{"path", "complete", "n_docs", "n_rows", "hooks": [...], "labels": [...],
 *                  "probes": [{"label", "n_classes", "grouped", "rows": [{"hook", "layer",
 *                              "acc", "bal", "control_bal", "majority", "sel"}]}],
 *                  "pca": [{"hook", "layer", "pr", "evr": [...]}],
 *                  "cka": {"hooks": [...], "m": [[...]]},
 *                  "attention": {"doc", "tokens": [...], "n_layers", "n_heads", "len", "doc_len",
 *                                "cut": why len < doc_len, "k", "budget", "bytes", "full_bytes",
 *                                "mode": "d|s per head (layer * n_heads + head)",
 *                                "heads": [base64 per head, layout in attnViewer],
 *                                "kept": [mean kept attention mass per head],
 *                                "dense": [[layer, head] in full, when k > 0],
 *                                "probe_scores": {label: [p per token]}} | {"absent": why},
 *                  "lens": {"doc", "n", "doc_len", "tokens": [ids], "points": [hook names],
 *                           "rank", "prob": [[point][position]] of the next token (null last),
 *                           "top", "top_p": [[point][position][k]], "mean_rank", "mean_logp",
 *                           "mean_p", "top1": [per point], "vocab": {id: piece}}
 *                          | {"absent": why}}],
 *    "heads": {"n_layers", "n_heads", "scores": {name: [[layer][head]]}, "cls": [[...]],
 *              "class_names": [...], "n_docs"} | {"absent": why},
 *    "sweeps": [{"path", "x_axis", "log_x", "points": [...], "transitions": [...]}]} */
#include <stdio.h>

#include "report_page.h"

static const char page_css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;"
    "max-width:1100px}\n"
    "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;"
    "margin-top:32px}h3{font-size:15px}\n"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:2px 8px;"
    "text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}\n"
    ".partial{background:#fde2e1;border:2px solid #c0392b;padding:8px 12px;font-weight:bold;"
    "color:#8e1b10;margin:8px 0}\n"
    ".absent{color:#777;font-style:italic}\n"
    ".tok{display:inline-block;padding:1px 2px;margin:1px;border:1px solid #ccc;"
    "border-radius:3px;font-family:monospace;white-space:pre;cursor:pointer}\n"
    ".tok.sel{outline:2px solid #c0392b}\n"
    ".legend span{display:inline-block;margin-right:14px}\n"
    ".scroll{overflow-x:auto;max-height:520px;overflow-y:auto}\n"
    "table.lens td{font-family:monospace;white-space:pre;text-align:left}\n"
    "svg text{font:11px sans-serif}\n";

/* Rendering code.  Every chart is built with DOM calls (no innerHTML on data),
 * so token text from a file cannot inject markup. */
static const char page_js[] =
    "'use strict';\n"
    "const D=JSON.parse(document.getElementById('strata-data').textContent);\n"
    "const NS='http://www.w3.org/2000/svg';\n"
    "function el(t,a,p){const e=document.createElement(t);if(a)for(const k in a){if(k==='text')"
    "e.textContent=a[k];else e.setAttribute(k,a[k]);}if(p)p.appendChild(e);return e;}\n"
    "function sv(t,a,p){const e=document.createElementNS(NS,t);if(a)for(const k in a){if(k==="
    "'text')e.textContent=a[k];else e.setAttribute(k,a[k]);}if(p)p.appendChild(e);return e;}\n"
    "const COLORS=['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2',"
    "'#7f7f7f'];\n"
    "function fmt(v){return v===null||v===undefined||isNaN(v)?'-':(Math.abs(v)>=1000?"
    "v.toExponential(2):(+v).toFixed(3));}\n"
    "function viridis(v){const s=[[68,1,84],[59,82,139],[33,145,140],[94,201,98],[253,231,37]];"
    "v=Math.max(0,Math.min(1,isNaN(v)?0:v));const x=v*4,i=Math.min(3,Math.floor(x)),f=x-i;"
    "const c=s[i].map((a,j)=>Math.round(a+(s[i+1][j]-a)*f));return 'rgb('+c.join(',')+')';}\n"
    /* Line chart: series [{name, xs, ys, color, dash}], marks [{x0,x1,label}] shaded. */
    "function lineChart(parent,o){const W=o.w||640,H=o.h||260,L=56,R=150,T=12,B=40;"
    "const svg=sv('svg',{width:W,height:H,class:o.cls||'chart'},parent);"
    "let xs=[],ys=[];for(const s of o.series){s.xs.forEach((x,i)=>{if(s.ys[i]!==null&&"
    "!isNaN(s.ys[i])){xs.push(x);ys.push(s.ys[i]);}});}\n"
    "  if(!xs.length){sv('text',{x:10,y:20,text:'no values'},svg);return svg;}\n"
    "  const tx=v=>o.logx?Math.log10(Math.max(v,1e-300)):v;let x0=Math.min(...xs.map(tx)),"
    "x1=Math.max(...xs.map(tx));if(x0===x1){x0-=1;x1+=1;}\n"
    "  let y0=Math.min(...ys),y1=Math.max(...ys);if(o.y0!==undefined)y0=Math.min(y0,o.y0);"
    "const pad=(y1-y0)*0.08||0.05;y0-=pad;y1+=pad;\n"
    "  const X=v=>L+(tx(v)-x0)/(x1-x0)*(W-L-R),Y=v=>T+(1-(v-y0)/(y1-y0))*(H-T-B);\n"
    "  for(const m of (o.marks||[])){if(m.x0===null||m.x1===null)continue;const a=X(m.x0),"
    "b=X(m.x1);sv('rect',{x:Math.min(a,b),y:T,width:Math.max(1,Math.abs(b-a)),height:H-T-B,"
    "fill:m.fill||'#f6e3a1',opacity:0.6,class:'mark'},svg);if(m.label)sv('text',{x:Math.min(a,b)"
    "+2,y:T+12,text:m.label},svg);}\n"
    "  sv('line',{x1:L,y1:H-B,x2:W-R,y2:H-B,stroke:'#444'},svg);sv('line',{x1:L,y1:T,x2:L,"
    "y2:H-B,stroke:'#444'},svg);\n"
    "  for(let i=0;i<=4;i++){const v=y0+(y1-y0)*i/4;sv('text',{x:L-4,y:Y(v)+4,'text-anchor':"
    "'end',text:fmt(v)},svg);sv('line',{x1:L,y1:Y(v),x2:W-R,y2:Y(v),stroke:'#eee'},svg);}\n"
    "  const ux=[...new Set(xs)].sort((a,b)=>a-b);const step=Math.max(1,Math.ceil(ux.length/10));"
    "ux.forEach((v,i)=>{if(i%step===0)sv('text',{x:X(v),y:H-B+14,'text-anchor':'middle',"
    "text:o.xlabels?o.xlabels[v]:(Math.abs(v)>=1e4?v.toExponential(1):String(v))},svg);});\n"
    "  sv('text',{x:(L+W-R)/2,y:H-6,'text-anchor':'middle',text:o.xname||''},svg);\n"
    "  o.series.forEach((s,k)=>{const pts=[];s.xs.forEach((x,i)=>{const y=s.ys[i];if(y!==null&&"
    "!isNaN(y))pts.push(X(x).toFixed(1)+','+Y(y).toFixed(1));});const c=s.color||COLORS[k%8];"
    "sv('polyline',{points:pts.join(' '),fill:'none',stroke:c,'stroke-width':2,"
    "'stroke-dasharray':s.dash||'',class:'curve','data-name':s.name},svg);"
    "sv('text',{x:W-R+8,y:T+14+k*15,fill:c,text:s.name},svg);});\n"
    "  return svg;}\n"
    /* Heat map: rows x cols values in [lo, hi]. */
    "function heatMap(parent,o){const n=o.rows.length,m=o.cols.length,cs=o.cell||Math.max(8,"
    "Math.min(28,Math.floor(520/Math.max(n,m)))),L=o.left||110,T=o.top||20;"
    "const svg=sv('svg',{width:L+m*cs+70,height:T+n*cs+50,class:o.cls||'heat'},parent);"
    "for(let i=0;i<n;i++){sv('text',{x:L-4,y:T+i*cs+cs*0.7,'text-anchor':'end',text:o.rows[i]},"
    "svg);for(let j=0;j<m;j++){const v=o.v[i][j];const r=sv('rect',{x:L+j*cs,y:T+i*cs,width:cs,"
    "height:cs,fill:v===null?'#fff':viridis((v-o.lo)/(o.hi-o.lo)),stroke:'#fff',class:'cell',"
    "'data-i':i,'data-j':j},svg);sv('title',{text:o.rows[i]+' / '+o.cols[j]+': '+fmt(v)+"
    "(o.note?o.note(i,j):'')},r);if(o.click)r.addEventListener('click',()=>o.click(i,j));}}\n"
    "  for(let j=0;j<m;j++)if(m<=64||j%Math.ceil(m/32)===0)sv('text',{x:L+j*cs+cs/2,"
    "y:T+n*cs+12,'text-anchor':'middle',text:o.cols[j]},svg);\n"
    "  for(let k=0;k<=10;k++)sv('rect',{x:L+m*cs+20,y:T+(10-k)*Math.max(4,n*cs/11),width:12,"
    "height:Math.max(4,n*cs/11),fill:viridis(k/10)},svg);sv('text',{x:L+m*cs+36,y:T+10,"
    "text:fmt(o.hi)},svg);sv('text',{x:L+m*cs+36,y:T+n*cs,text:fmt(o.lo)},svg);return svg;}\n"
    "function b64(s){const b=atob(s),a=new Uint8Array(b.length);for(let i=0;i<b.length;i++)"
    "a[i]=b.charCodeAt(i);return a;}\n"
    /* Attention viewer.  A.mode[l*H+h] 'd': A.heads[x] is the lower triangle,
     * byte q(q+1)/2+k = round(255 P[q][k]); 's': per query q its min(k, q+1)
     * largest weights, 3 bytes each (key uint16 LE, round(255 P)). */
    "function attnViewer(parent,A){const box=el('div',{class:'attn'},parent);"
    "const ctl=el('div',{},box);el('span',{text:'layer '},ctl);const ls=el('select',"
    "{id:'attn-layer'},ctl);for(let l=0;l<A.n_layers;l++)el('option',{value:l,text:l},ls);"
    "el('span',{text:' head '},ctl);const hs=el('select',{id:'attn-head'},ctl);"
    "for(let h=0;h<A.n_heads;h++)el('option',{value:h,text:h},hs);el('span',{text:' colour by '},"
    "ctl);const ps=el('select',{id:'attn-colour'},ctl);el('option',{value:'',text:'attention'},ps);"
    "for(const k in (A.probe_scores||{}))el('option',{value:k,text:'probe: '+k},ps);\n"
    "  const hinfo=el('div',{id:'attn-head-info'},box);"
    "const info=el('div',{id:'attn-info',text:'hover a token: red = where it attends, blue = "
    "what attends to it'},box);const strip=el('div',{id:'attn-strip'},box);const L=A.len,"
    "NH=A.n_heads,K=A.k,cache={};const toks=A.tokens.map((t,i)=>el('span',{class:'tok',"
    "'data-i':i,text:t},strip));let cur=-1;\n"
    "  {const x0=A.dense.length?A.dense[0][0]*NH+A.dense[0][1]:Math.max(0,A.mode.search(/[ds]/));"
    "ls.value=Math.floor(x0/NH);hs.value=x0%NH;}\n"
    "  function bytes(l,h){const x=l*NH+h;return cache[x]||(cache[x]=b64(A.heads[x]));}\n"
    "  function isDense(l,h){return A.mode[l*NH+h]==='d';}\n"
    "  function off(q){return q<=K?q*(q+1)/2:K*(K+1)/2+(q-K)*K;}\n"
    "  function P(l,h,q,k){if(k>q||A.mode[l*NH+h]==='x')return 0;const d=bytes(l,h);"
    "if(isDense(l,h))return d[q*(q+1)/2+k]/255;const o=3*off(q),m=Math.min(K,q+1);for(let i=0;i<m;i++)if((d[o+3*i]|d[o+3*i+1]<<8)===k)"
    "return d[o+3*i+2]/255;return 0;}\n"
    "  function top(l,h,q){if(A.mode[l*NH+h]==='x')return q;const d=bytes(l,h);"
    "if(!isDense(l,h)){const o=3*off(q);return d[o]|d[o+1]<<8;}let b=0;for(let k=1;k<=q;k++)if(P(l,h,q,k)>P(l,h,q,b))b=k;return b;}\n"
    "  function paint(){const l=+ls.value,h=+hs.value,pc=ps.value,x=l*NH+h;"
    "hinfo.textContent='layer '+l+', head '+h+': '+(A.mode[x]==='x'?'not embedded "
    "(--attn-heads-only)':isDense(l,h)?'every weight shown (quantised to 1/255)':'only the top '+"
    "K+' keys of each query shown; they hold '+(100*A.kept[x]).toFixed(1)+' % of its attention on average, the other '+(100-100*A.kept[x]).toFixed(1)+' % "
    "is dropped');toks.forEach((s,i)=>{let bg="
    "'#fff';if(pc){const v=A.probe_scores[pc][i];bg=v===null?'#fff':'rgba(44,160,44,'+v.toFixed(3)"
    "+')';}else if(cur>=0){const out=i<=cur?P(l,h,cur,i):0,inn=i>=cur?P(l,h,i,cur):0;bg=out>="
    "inn?'rgba(214,39,40,'+out.toFixed(3)+')':'rgba(31,119,180,'+inn.toFixed(3)+')';}"
    "s.style.background=bg;s.classList.toggle('sel',i===cur);});if(cur>=0){const b=top(l,h,cur);"
    "info.textContent='token '+cur+' '+"
    "JSON.stringify(A.tokens[cur])+' (layer '+l+', head '+h+') attends most to token '+b+' '+"
    "JSON.stringify(A.tokens[b])+' with weight '+P(l,h,cur,b).toFixed(3);}}\n"
    "  toks.forEach((s,i)=>s.addEventListener('mouseover',()=>{cur=i;paint();}));"
    "ls.addEventListener('change',paint);hs.addEventListener('change',paint);"
    "ps.addEventListener('change',paint);paint();"
    "return {pick:(l,h)=>{ls.value=l;hs.value=h;paint();box.scrollIntoView();}};}\n"
    /* The embedding rule, stated with what it dropped. */
    "function attnRule(A){const n=A.n_layers*A.n_heads,mb=v=>v>=1048576?(v/1048576).toFixed(2)+"
    "' MiB':(v/1024).toFixed(1)+' KiB';"
    "let t='Document '+A.doc+': '+A.doc_len+' tokens, '+A.n_layers+' layers x '+A.n_heads+"
    "' heads. Attention data: '+mb(A.bytes)+' embedded of a '+mb(A.budget)+' budget "
    "(--attn-budget); every head in full would take '+mb(A.full_bytes)+'. ';\n"
    "  const nx=[...A.mode].filter(c=>c==='x').length;if(nx)t+='Only the '+(n-nx)+' heads "
    "chosen by --heads and the head scores are embedded (--attn-heads-only); the other '+nx+' are "
    "not. ';\n"
    "  if(!A.k)t+=(nx?'Every embedded head':'Every head')+' is shown in full, each weight "
    "quantised to round(255 p) (error at most 1/510).';else{const ks=A.kept.filter((v,i)=>A.mode[i]==='s');"
    "const mean=ks.reduce((a,b)=>a+b,0)/ks.length;let lo=-1;A.kept.forEach((v,i)=>{if(A.mode[i]"
    "==='s'&&(lo<0||v<A.kept[lo]))lo=i;});t+=(A.dense.length?'In full: head'+"
    "(A.dense.length>1?'s ':' ')+A.dense.map(d=>d[0]+'.'+d[1]).join(', ')+' (--heads first, then "
    "the top-scoring head of each score under Attention heads). ':'No head fits in full. ')+"
    "'The other '+ks.length+' of '+(n-nx)+' heads'+(nx?' embedded':'')+': only the top '+A.k+"
    "' keys of each query (weights quantised to 1/255); those keep '+"
    "(100*mean).toFixed(1)+' % of the attention on average (least: head '+Math.floor(lo/"
    "A.n_heads)+'.'+(lo%A.n_heads)+', '+(100*A.kept[lo]).toFixed(1)+' %); the rest is dropped.';}"
    "\n  if(A.len<A.doc_len)t+=' Tokens: the first '+A.len+' of '+A.doc_len+' ('+A.cut+'); "
    "tokens '+A.len+'-'+(A.doc_len-1)+' are dropped.';return t;}\n"
    /* Logit lens table and summary. */
    "function lensView(s,Z){const lab=Z.points.map(p=>{const m=/blocks\\.(\\d+)\\.hook_resid_post/"
    ".exec(p);return m?'L'+m[1]:'emb';});const tx=i=>Z.vocab[i]===undefined?'#'+i:Z.vocab[i];"
    "const K=Z.top[0][0].length;\n"
    "  el('p',{text:'Document '+Z.doc+', its first '+Z.n+' of '+Z.doc_len+' tokens. The residual "
    "stream after the embeddings (emb) and after each layer (L0, L1, ...) read out through the "
    "model\\'s final norm and unembedding (strata lens). Cell: the top prediction at that point; "
    "green: the probability of the actual next token; hover a cell for its rank and the top '+K+"
    "'.'},s);const xs=lab.map((v,i)=>i),xl={};lab.forEach((v,i)=>xl[i]=v);\n"
    "  lineChart(s,{cls:'lens-chart',xname:'readout point',xlabels:xl,y0:0,series:[{name:"
    "'mean p(next)',xs,ys:Z.mean_p},{name:'top-1 share',xs,ys:Z.top1}]});\n"
    "  const d=el('div',{class:'scroll'},s),t=el('table',{class:'lens'},d);(r=>['pos','token',"
    "'next'].concat(lab).forEach(h=>el('th',{text:h},r)))(el('tr',{},t));\n"
    "  for(let q=0;q<Z.n;q++){const r=el('tr',{},t);el('td',{text:q},r);el('td',{text:"
    "JSON.stringify(tx(Z.tokens[q]))},r);el('td',{text:q+1<Z.n?JSON.stringify(tx(Z.tokens[q+1])):'-'}"
    ",r);lab.forEach((lb,p)=>{const pr=Z.prob[p][q],c=el('td',{class:'lens-cell',text:JSON."
    "stringify(tx(Z.top[p][q][0]))},r);if(pr!==null)c.style.background='rgba(44,160,44,'+"
    "Math.min(1,pr).toFixed(3)+')';c.title=lb+': '+(pr===null?'last position':'next token '+"
    "JSON.stringify(tx(Z.tokens[q+1]))+' rank '+Z.rank[p][q]+', p = '+fmt(pr))+'; top: '+"
    "Z.top[p][q].map((id,k)=>JSON.stringify(tx(id))+' '+fmt(Z.top_p[p][q][k])).join(', ');});}\n"
    "  for(const [name,v] of [['mean rank',Z.mean_rank],['mean log p(next)',Z.mean_logp]]){"
    "const r=el('tr',{class:'lens-summary'},t);el('th',{class:'l',text:name,colspan:3},r);"
    "v.forEach(x=>el('td',{text:fmt(x)},r));}}\n"
    /* Page assembly. */
    "function section(title){const s=el('section',{},document.body);el('h2',{text:title},s);"
    "return s;}\n"
    "function absent(p,why){el('p',{class:'absent',text:why},p);}\n"
    "el('h1',{text:D.title},document.body);\n"
    "const prov=section('Model and data');const pt=el('table',{},prov);\n"
    "for(const [k,v] of D.provenance)(r=>{el('th',{class:'l',text:k},r);el('td',{class:'l',"
    "text:String(v)},r);})(el('tr',{},pt));\n"
    "let viewer=null;\n"
    "D.captures.forEach((C,ci)=>{const s=section('Capture '+C.path);"
    "if(!C.complete)el('div',{class:'partial',text:'PARTIAL FILE: complete = false. Only the '+"
    "C.n_docs+' committed documents ('+C.n_rows+' rows) are shown; the capture was interrupted "
    "and can be resumed with strata capture --resume.'},s);\n"
    "  el('p',{text:C.n_docs+' documents, '+C.n_rows+' rows, hooks: '+C.hooks.join(', ')+"
    "(C.labels.length?'; labels: '+C.labels.join(', '):'; no labels')},s);\n"
    "  el('h3',{text:'Probe accuracy by layer'},s);if(!C.probes.length)absent(s,C.probes_absent||"
    "'no labels in this file');\n"
    "  for(const P of C.probes){el('p',{text:'label '+P.label+': '+P.n_classes+' classes, "
    "logistic probe, held-out split '+(P.grouped?'by document':'by row')+'; control = Hewitt & "
    "Liang control task; majority = always the most frequent training class.'},s);"
    "const xs=P.rows.map((r,i)=>i),xl={};P.rows.forEach((r,i)=>xl[i]=r.layer);"
    "lineChart(s,{cls:'probe-chart',xname:'layer (0 = embeddings)',xlabels:xl,series:["
    "{name:'accuracy',xs,ys:P.rows.map(r=>r.acc)},{name:'balanced acc.',xs,ys:P.rows.map(r=>r.bal)},"
    "{name:'control (bal.)',xs,ys:P.rows.map(r=>r.control_bal),dash:'4 3'},"
    "{name:'majority baseline',xs,ys:P.rows.map(r=>r.majority),dash:'2 2',color:'#7f7f7f'}]});"
    "const t=el('table',{},s);(r=>['hook','accuracy','balanced','control bal.','selectivity',"
    "'majority'].forEach(h=>el('th',{text:h},r)))(el('tr',{},t));for(const r of P.rows){const tr="
    "el('tr',{},t);el('td',{class:'l',text:r.hook},tr);[r.acc,r.bal,r.control_bal,r.sel,"
    "r.majority].forEach(v=>el('td',{text:fmt(v)},tr));}}\n"
    "  el('h3',{text:'PCA: participation ratio and explained variance'},s);"
    "if(!C.pca.length)absent(s,'no [rows, d] hooks');else{const xs=C.pca.map((r,i)=>i),xl={};"
    "C.pca.forEach((r,i)=>xl[i]=r.layer);lineChart(s,{cls:'pca-chart',xname:'layer',xlabels:xl,"
    "series:[{name:'participation ratio',xs,ys:C.pca.map(r=>r.pr)}]});const t=el('table',{},s);"
    "(r=>['hook','PR'].concat(C.pca[0].evr.map((v,i)=>'EVR '+(i+1))).forEach(h=>el('th',{text:h},"
    "r)))(el('tr',{},t));for(const r of C.pca){const tr=el('tr',{},t);el('td',{class:'l',"
    "text:r.hook},tr);el('td',{text:fmt(r.pr)},tr);r.evr.forEach(v=>el('td',{text:fmt(v)},tr));}}\n"
    "  el('h3',{text:'Linear CKA between hooks'},s);if(!C.cka)absent(s,'fewer than two [rows, d] "
    "hooks');else heatMap(s,{cls:'cka-heat',rows:C.cka.hooks,cols:C.cka.hooks.map((h,i)=>i),"
    "v:C.cka.m,lo:0,hi:1,left:200});\n"
    "  el('h3',{text:'Attention viewer'},s);if(C.attention.absent)absent(s,C.attention.absent);"
    "else{el('p',{class:'attn-rule',text:attnRule(C.attention)},s);const v=attnViewer(s,"
    "C.attention);if(!viewer)viewer=v;}\n"
    "  el('h3',{text:'Logit lens'},s);if(C.lens.absent)absent(s,C.lens.absent);else lensView(s,"
    "C.lens);});\n"
    "const hs=section('Attention heads');if(D.heads.absent)absent(hs,D.heads.absent);else{"
    "const H=D.heads;el('p',{text:'scores per head over '+H.n_docs+' documents; classes at the "
    "default thresholds (0.4); click a cell to show that head in the attention viewer.'},hs);"
    "for(const name in H.scores){el('h3',{text:name},hs);heatMap(hs,{cls:'head-heat',rows:"
    "H.scores[name].map((r,l)=>'layer '+l),cols:H.scores[name][0].map((c,h)=>h),"
    "v:H.scores[name],lo:0,hi:1,note:(i,j)=>' ('+H.class_names[H.cls[i][j]]+')',"
    "click:(i,j)=>{if(viewer)viewer.pick(i,j);}});}}\n"
    "const es=section('Emergence');if(!D.sweeps.length)absent(es,'no sweep results given (strata "
    "sweep --json > sweep.json, then pass sweep.json)');\n"
    "for(const S of D.sweeps){el('p',{text:S.path+': x = '+S.x_axis+(S.log_x?' (log)':'')},es);"
    "const fams=[...new Set(S.points.map(p=>p.family))];for(const tr of S.transitions){"
    "if(/@/.test(tr.measure))continue;el('h3',{text:tr.measure+' ('+tr.family+')'},es);"
    "const pts=S.points.filter(p=>p.family===tr.family&&p.x!==null).sort((a,b)=>a.x-b.x);"
    "lineChart(es,{cls:'emergence-chart',logx:S.log_x,xname:S.x_axis,series:[{name:tr.family,"
    "xs:pts.map(p=>p.x),ys:pts.map(p=>p.measures[tr.measure])}],marks:[{x0:tr.x10,x1:tr.x90,"
    "label:'10-90%'},{x0:tr.x_steep_lo,x1:tr.x_steep_hi,fill:'#d62728',label:'steepest'}]});"
    "el('p',{text:'sharpness '+fmt(tr.sharpness)+', steepest at x = '+fmt(tr.x_steep)+', width "
    "(10-90%) '+fmt(tr.width)+', total change '+fmt(tr.total_change)},es);}}\n";

void report_write_page(FILE *f, const char *title, const char *json)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    for (const char *p = title; *p; p++) {
        if (*p == '<') fputs("&lt;", f);
        else if (*p == '&') fputs("&amp;", f);
        else fputc(*p, f);
    }
    fprintf(f, "</title>\n<style>\n%s</style>\n</head><body>\n", page_css);
    /* JSON inside a <script> element: "</" would end the element, so every
     * '<' is written as the JSON escape \u003c (same string value). */
    fputs("<script id=\"strata-data\" type=\"application/json\">", f);
    for (const char *p = json; *p; p++) {
        if (*p == '<') fputs("\\u003c", f);
        else fputc(*p, f);
    }
    fprintf(f, "</script>\n<script>\n%s</script>\n</body></html>\n", page_js);
}
