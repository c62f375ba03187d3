"""Interactive flame graphs: one self-contained HTML object (inline SVG + JS).

No network access, no CDN, no external library: the snippet returned by
``InteractiveFlame._repr_html_`` holds a uniquely-id'd container ``<div>``, the
layout as compact JSON in a ``<script type="application/json">`` and an inline
script (an IIFE, no globals) that finds its own container. It shows inline in
JupyterLab, keeps working in the HTML nbconvert exports, and may be included
any number of times in one page.

DOM hooks (stable, used by the browser tests):

* container ``div.pk-flame`` with a unique ``id`` and ``data-kind`` ("flame" or "diff")
* every frame is an ``svg.pk-frame`` element (a rect and a clipped label) with
  ``data-i`` (row index in ``.perfkit_data``), ``data-name`` (full function name) and,
  for differential graphs, ``data-state`` (``grew``, ``shrank``, ``only-in``,
  ``noise``); the synthetic root frame has ``data-root="1"``
* ``input.pk-flame-search`` (regular expression; falls back to a plain
  substring when the text is not a valid regexp), ``button.pk-flame-reset``
* ``span.pk-flame-match`` shows the search result as
  ``"matched: 48.69% of total"`` (nested matches are counted once: a matched
  frame counts only if none of its ancestors matched)
* ``div.pk-flame-tooltip``: full name, value in the profile's unit, % of
  total, % of parent (differential: base, target, delta, delta %)

Clicking a frame zooms into it (it becomes full width, its ancestors stay
visible at full width, everything else is hidden); clicking the root frame or
Reset restores the whole graph.

Sandwich view (plain flame graphs): ``button.pk-flame-sandwich`` (or the key
``s`` over the graph) opens ``div.pk-sandwich`` for the last clicked
frame's function, or, with nothing clicked, the heaviest function matching the
search box. It draws the function once (``svg.pk-sw-frame[data-side=focus]``)
with all its callers above it (``data-side=caller``, nearest first) and all its
callees below it (``data-side=callee``), merged across every call site: each
stack counts from its outermost occurrence of the function, so the centre's
width is the function's cum. Every sandwich frame has ``data-name``,
``data-depth`` and ``data-value``; ``span.pk-sandwich-info`` says the value,
and the container's ``data-sandwich`` the function. Clicking a sandwich frame
re-centres on it; ``button.pk-sandwich-close`` closes the view. The layout's
small frames are merged (``min_fraction``), so the sandwich is exact only for
what the graph draws: ``min_fraction=0`` keeps everything.
``interactive_flame(..., sandwich=NAME)`` opens the view on NAME.
"""
from __future__ import annotations

import html
import json
import math
import os
import uuid

import numpy as np
import pandas as pd

from ..views.flame import diff_flame_layout, flame_layout
from ..model.filter import Filters, checked_options
from ..style import DIFF_SCALE, NANOS_PER_CORE, SEARCH_MATCH_COLOR, is_time_unit, relative_delta, unit_steps
from ..views.subsystems import as_subsystems

__all__ = ["InteractiveFlame", "interactive_flame", "interactive_diff_flame", "flame_page"]


# ---------------------------------------------------------------- encoding
def _num(v: float):
    """Compact JSON number: ints stay ints, floats keep 6 significant digits."""
    v = float(v)
    if not math.isfinite(v):
        return 0
    if v.is_integer() and abs(v) < 2 ** 53:
        return int(v)
    r = float(f"{v:.6g}")
    return int(r) if r.is_integer() and abs(r) < 2 ** 53 else r


def _nums(values) -> list:
    return [_num(v) for v in np.asarray(values, float)]


def _script_json(obj) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' survive unescaped."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
             .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _fmt_spec(unit: str, per_second: bool = False) -> dict:
    """How the script formats values: perfkit.style's steps for the unit, a suffix, or cores."""
    if is_time_unit(unit):
        return {"kind": "cores" if per_second else "time", "suffix": "", "steps": unit_steps(unit),
                "core": NANOS_PER_CORE}
    steps = unit_steps(unit)
    suffix = "/s" if per_second else ""
    if steps is None and unit:
        suffix = f" {unit}{suffix}"
    return {"kind": "count" if steps is None else "bytes", "suffix": suffix, "steps": steps}


def _base_payload(lay: pd.DataFrame, widths, colors: list[str], color_idx, kind: str,
                  title: str, fmt: dict, total: float) -> dict:
    names = lay["name"].astype(str).tolist()
    strings: dict[str, int] = {}
    n_idx = [strings.setdefault(n, len(strings)) for n in names]
    parents = lay["parent"].to_numpy(np.int64)
    # the layout index may differ from 0..n-1 positions: map ids to positions
    pos = {int(i): k for k, i in enumerate(lay["id"].to_numpy(np.int64))} if "id" in lay else None
    p = [(-1 if q < 0 else (pos.get(int(q), -1) if pos is not None else int(q))) for q in parents]
    return {
        "v": 1, "kind": kind, "title": title, "fmt": fmt, "total": _num(total),
        "strings": list(strings), "colors": colors,
        "n": n_idx, "p": p, "d": [int(d) for d in lay["depth"].to_numpy()],
        "x": _nums(lay["x"]), "w": _nums(np.abs(np.asarray(widths, float))),
        "c": [int(c) for c in color_idx],
    }


# ---------------------------------------------------------------- the object
class InteractiveFlame:
    """A self-contained interactive flame graph (HTML + inline JS).

    ``.perfkit_data`` is the layout DataFrame drawn; ``_repr_html_()`` the embeddable
    snippet (a fresh unique id on every call); ``.html_page()`` a standalone
    document; ``.save(path)`` writes that document atomically.
    """

    def __init__(self, layout: pd.DataFrame, payload: dict, *, title: str | None = None,
                 height: int | None = None):
        self.perfkit_data = layout
        self.payload = payload
        self.title = title
        self.height = height
        self._json = _script_json(payload)   # encoded once, reused by every snippet

    @property
    def kind(self) -> str:
        return self.payload["kind"]

    def _repr_html_(self) -> str:
        uid = "pkflame-" + uuid.uuid4().hex[:16]
        style = f' style="max-height:{int(self.height)}px;overflow-y:auto"' if self.height else ""
        head = html.escape(self.title or "", quote=True)
        return (
            f'<div id="{uid}" class="pk-flame" data-kind="{self.kind}">'
            f"<style>{_CSS}</style>"
            f'<div class="pk-flame-bar"><b class="pk-flame-title">{head}</b>'
            f'<input class="pk-flame-search" type="search" placeholder="search (regexp)" aria-label="search">'
            f'<button class="pk-flame-reset" type="button">Reset</button>'
            + ('<button class="pk-flame-sandwich" type="button" title="callers and callees of the clicked '
               'frame (key s)">Sandwich</button>' if self.kind == "flame" else "") +
            f'<span class="pk-flame-match"></span></div>'
            f'<div class="pk-flame-legend"></div>'
            f'<div class="pk-flame-body"{style}><svg class="pk-flame-svg" width="100%" height="0"></svg></div>'
            + ('<div class="pk-sandwich" style="display:none"><div class="pk-flame-bar">'
               '<b>Sandwich</b><span class="pk-sandwich-info"></span>'
               '<button class="pk-sandwich-close" type="button">Close</button></div>'
               '<svg class="pk-sandwich-svg" width="100%" height="0"></svg></div>' if self.kind == "flame" else "") +
            f'<div class="pk-flame-tooltip" style="display:none"></div>'
            f'<script type="application/json" class="pk-flame-data">{self._json}</script>'
            f"<script>{_JS.replace('__PK_ID__', uid)}</script>"
            f"</div>"
        )

    def html_page(self, title: str | None = None) -> str:
        return flame_page(self, title=title or self.title or "perfkit flame graph")

    def save(self, path: str | os.PathLike, **kw):
        from ..fileio import write_text
        return write_text(path, self.html_page(), **kw)

    def __repr__(self) -> str:
        return f"<InteractiveFlame {self.kind} {len(self.perfkit_data)} frames {self.title or ''}>".replace(" >", ">")


def flame_page(*graphs: InteractiveFlame, title: str = "perfkit flame graphs") -> str:
    """One standalone HTML document holding several graphs (no network access)."""
    body = "\n".join(f"<section>{g._repr_html_()}</section>" for g in graphs)
    t = html.escape(title or "", quote=True)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{t}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:16px}section{margin-bottom:24px}</style>"
        f"</head><body><h1 style=\"font-size:18px\">{t}</h1>\n{body}\n</body></html>\n"
    )


# ---------------------------------------------------------------- builders
@checked_options
def interactive_flame(profile, sample_index=None, *, min_fraction: float = 0.001, inverted: bool = False,
                      subsystems=None, title: str | None = None, height: int | None = None,
                      sandwich: str | None = None, filters: Filters | None = None) -> InteractiveFlame:
    """Interactive flame graph of a profile (coloured by subsystem: a mapping or :class:`perfkit.Subsystems`).

    ``sandwich``: a function name whose sandwich view (callers above, callees below) is open from the start.
    """
    subs = as_subsystems(subsystems)
    lay = flame_layout(profile, sample_index, min_fraction=min_fraction, inverted=inverted, subsystems=subs,
                       filters=filters)
    cidx: dict[str, int] = {}
    ci = [cidx.setdefault(subs.color(s), len(cidx)) for s in lay["subsystem"]]
    colors = list(cidx)
    unit = lay.attrs.get("unit", "")
    st = lay.attrs.get("sample_type", "")
    if title is None:
        src = os.path.basename(str(lay.attrs.get("source", "") or getattr(profile, "source", "") or ""))
        title = " ".join(x for x in (src, st, "(inverted)" if inverted else "") if x)
    payload = _base_payload(lay, lay["total"], colors, ci, "flame", title, _fmt_spec(unit),
                            lay.attrs.get("grand_total", lay.loc[lay.parent == -1, "total"].abs().sum()))
    payload["s"] = _nums(lay["self"])
    seen = dict.fromkeys(lay["subsystem"])
    payload["legend"] = [[s, subs.color(s)] for s in seen]
    if sandwich:
        payload["sandwich"] = str(sandwich)
    if inverted:
        payload["inv"] = 1
    return InteractiveFlame(lay, payload, title=title, height=height)


def _diff_colors(lay: pd.DataFrame, only_label: str):
    """The palette of perfkit.style.DIFF_SCALE, each frame's index into it and its state."""
    rel = relative_delta(lay["base"], lay["target"], lay["delta"])
    ci, state = DIFF_SCALE.classify(rel, lay["noise"], lay["only_in"])
    colors = DIFF_SCALE.palette()
    only = DIFF_SCALE.only_base if (lay["only_in"] == "base").any() else DIFF_SCALE.only_target
    legend = [["grew", DIFF_SCALE.sign_color(1)], ["shrank", DIFF_SCALE.sign_color(-1)],
              [only_label, only], ["within noise", DIFF_SCALE.noise]]
    return colors, ci.tolist(), state.tolist(), legend


@checked_options
def interactive_diff_flame(base, target, sample_index=None, *, normalize: str = "total", reverse: bool = False,
                           min_fraction: float = 0.001, title: str | None = None,
                           filters: Filters | None = None) -> InteractiveFlame:
    """Differential flame graph: widths from the target (the base when ``reverse``).

    Red frames grew, blue shrank (intensity by the normalised delta), frames
    only in the target (only in the base when ``reverse``: what disappeared)
    get their own colour, deltas within sampling noise are neutral grey.
    """
    lay = diff_flame_layout(base, target, sample_index, normalize=normalize, min_fraction=min_fraction,
                            reverse=reverse, filters=filters)
    only_label = "only in base" if reverse else "only in target"
    colors, ci, state, legend = _diff_colors(lay, only_label)
    unit = lay.attrs.get("unit", "")
    if title is None:
        b = os.path.basename(os.path.dirname(str(base.source))) or os.path.basename(str(base.source))
        t = os.path.basename(os.path.dirname(str(target.source))) or os.path.basename(str(target.source))
        title = f"{t} vs {b}" + (" (reverse: what disappeared)" if reverse else "") + \
            (f", normalised {normalize.replace('_', ' ')}" if normalize else "")
    payload = _base_payload(lay, lay["width"], colors, ci, "diff", title,
                            _fmt_spec(unit, per_second=(normalize == "per_second")), lay.attrs["grand_total"])
    payload.update(b=_nums(lay["base"]), t=_nums(lay["target"]),
                   st=[{"grew": 0, "shrank": 1, "only-in": 2, "noise": 3}[s] for s in state],
                   only=only_label, reverse=bool(reverse), legend=legend)
    return InteractiveFlame(lay, payload, title=title)


# ---------------------------------------------------------------- CSS and JS
_CSS = (
    ".pk-flame{position:relative;font:12px system-ui,-apple-system,sans-serif;margin:6px 0;color:#222}"
    ".pk-flame-bar{display:flex;gap:8px;align-items:center;margin-bottom:4px;flex-wrap:wrap}"
    ".pk-flame-search{width:220px;font:inherit;padding:2px 4px}"
    ".pk-flame-reset{font:inherit}"
    ".pk-flame-match{color:#8a1f8a;font-weight:600}"
    ".pk-flame-legend{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:4px;font-size:11px}"
    ".pk-flame-legend i{display:inline-block;width:10px;height:10px;margin-right:3px;vertical-align:-1px}"
    ".pk-flame-svg{display:block}"
    ".pk-frame{cursor:pointer}"
    ".pk-frame text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#111;pointer-events:none}"
    ".pk-frame:hover rect{stroke:#000;stroke-width:1}"
    f".pk-frame.pk-match rect{{fill:{SEARCH_MATCH_COLOR}}}"
    ".pk-frame.pk-anc rect{opacity:.65}"
    ".pk-flame-tooltip{position:absolute;z-index:10;pointer-events:none;background:#fffff0;"
    "border:1px solid #999;padding:4px 6px;max-width:600px;word-break:break-all;box-shadow:0 1px 4px #0003}"
    ".pk-flame-tooltip .pk-tt-name{font-weight:600;margin-bottom:2px}"
    ".pk-sandwich{margin-top:8px;border-top:1px solid #ccc;padding-top:4px}"
    ".pk-sandwich-info{color:#333}"
    ".pk-sw-frame{cursor:pointer}"
    ".pk-sw-frame text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#111;pointer-events:none}"
    ".pk-sw-frame:hover rect{stroke:#000;stroke-width:1}"
)

_JS = r"""(function(){
"use strict";
var ID="__PK_ID__", cs=document.currentScript;
function init(root){
  if(!root||root.getAttribute("data-pk-ready"))return;
  root.setAttribute("data-pk-ready","1");
  var D=JSON.parse(root.querySelector("script.pk-flame-data").textContent);
  var SVGNS="http:"+"//www.w3.org/2000/svg", ROW=18;
  var n=D.n.length, P=D.p, X=D.x, W=D.w, DEP=D.d, S=D.strings, TOTAL=D.total||1, isDiff=D.kind==="diff";
  var svg=root.querySelector("svg.pk-flame-svg"), tip=root.querySelector(".pk-flame-tooltip");
  var input=root.querySelector("input.pk-flame-search"), out=root.querySelector(".pk-flame-match");
  var sorted=true, maxd=0, i;
  for(i=0;i<n;i++){ if(P[i]>=i)sorted=false; if(DEP[i]>maxd)maxd=DEP[i]; }
  svg.setAttribute("height",String((maxd+2)*ROW));
  // legend
  var lg=root.querySelector(".pk-flame-legend");
  (D.legend||[]).forEach(function(e){var s=document.createElement("span"),b=document.createElement("i");
    b.style.background=e[1];s.appendChild(b);s.appendChild(document.createTextNode(e[0]));lg.appendChild(s);});
  // formatting (mirrors perfkit.style.format_value)
  function g3(x){return String(Number(x.toPrecision(3)));}
  function fmt(v){
    if(v===null||v===undefined||isNaN(v))return "";
    var k=D.fmt.kind, suf=D.fmt.suffix||"";
    if(k==="cores")return g3(v/D.fmt.core)+" cores";
    var sc=D.fmt.steps;
    if(!sc)return (Number.isInteger(v)?v.toLocaleString("en-US"):g3(v))+suf;
    var a=Math.abs(v);
    for(var j=0;j<sc.length;j++){if(a>=sc[j][1]||sc[j][1]===1)return g3(v/sc[j][1])+sc[j][0]+suf;}
    return String(v);
  }
  function pct(a,b){return b?(100*a/b).toFixed(2)+"%":"";}
  function signed(s,v){return (v>0?"+":"")+s;}
  // frames
  function mk(idx,name,color){
    var g=document.createElementNS(SVGNS,"svg");
    g.setAttribute("class","pk-frame");g.setAttribute("data-i",String(idx));g.setAttribute("data-name",name);
    g.setAttribute("height",String(ROW-1));
    var r=document.createElementNS(SVGNS,"rect");
    r.setAttribute("width","100%");r.setAttribute("height","100%");r.setAttribute("fill",color);r.setAttribute("rx","2");
    var t=document.createElementNS(SVGNS,"text");t.setAttribute("x","3");t.setAttribute("y",String(ROW-6));t.textContent=name;
    g.appendChild(r);g.appendChild(t);return g;
  }
  var frag=document.createDocumentFragment(), els=new Array(n), STN=["grew","shrank","only-in","noise"];
  var rootEl=mk(-1,"all",isDiff?"#eeeeee":"#e0e0e0");rootEl.setAttribute("data-root","1");
  rootEl.setAttribute("x","0");rootEl.setAttribute("y","0");rootEl.setAttribute("width","100%");frag.appendChild(rootEl);
  for(i=0;i<n;i++){
    var e=mk(i,S[D.n[i]],D.colors[D.c[i]]);
    if(isDiff)e.setAttribute("data-state",STN[D.st[i]]);
    e.setAttribute("y",String((DEP[i]+1)*ROW));els[i]=e;frag.appendChild(e);
  }
  svg.appendChild(frag);
  // zoom
  var zoomed=-1;
  function place(z){
    zoomed=z;
    var zx=0,zw=0,anc=new Uint8Array(n),ins=new Uint8Array(n),j;
    if(z<0){for(j=0;j<n;j++)ins[j]=1;zw=TOTAL;}
    else{
      zx=X[z];zw=W[z]||1;for(j=z;j>=0;j=P[j])anc[j]=1;
      if(sorted){ins[z]=1;for(j=z+1;j<n;j++)if(P[j]>=0&&ins[P[j]])ins[j]=1;}
      else for(j=0;j<n;j++){for(var k=j;k>=0;k=P[k])if(k===z){ins[j]=1;break;}}
    }
    for(j=0;j<n;j++){
      var el=els[j];
      if(anc[j]&&j!==z){el.style.display="";el.setAttribute("x","0%");el.setAttribute("width","100%");el.classList.add("pk-anc");continue;}
      el.classList.remove("pk-anc");
      if(!ins[j]){el.style.display="none";continue;}
      var xp=(X[j]-zx)/zw*100, wp=W[j]/zw*100;
      el.style.display=wp>0?"":"none";
      el.setAttribute("x",xp.toFixed(4)+"%");el.setAttribute("width",Math.max(wp,0).toFixed(4)+"%");
    }
    root.setAttribute("data-zoom",String(z));
  }
  place(-1);
  function frameOf(t){while(t&&t!==svg){if(t.classList&&t.classList.contains("pk-frame"))return t;t=t.parentNode;}return null;}
  svg.addEventListener("click",function(ev){
    var f=frameOf(ev.target);if(!f)return;var k=+f.getAttribute("data-i");
    chosen=k;place(k<0||k===zoomed?-1:k);
  });
  root.querySelector("button.pk-flame-reset").addEventListener("click",function(){place(-1);});
  // tooltip
  function line(txt,cls){var d=document.createElement("div");if(cls)d.className=cls;d.textContent=txt;tip.appendChild(d);}
  function show(k,ev){
    while(tip.firstChild)tip.removeChild(tip.firstChild);
    if(k<0){line("all","pk-tt-name");line("total: "+fmt(TOTAL)+" (100.00% of total)");}
    else{
      var par=P[k]>=0?W[P[k]]:TOTAL;
      line(S[D.n[k]],"pk-tt-name");
      if(isDiff){
        var b=D.b[k],t=D.t[k],dl=t-b;
        line("base: "+fmt(b)+"   target: "+fmt(t));
        line("delta: "+signed(fmt(dl),dl)+(b?" ("+signed((100*dl/b).toFixed(1)+"%",dl)+")":" (new)"));
        line("width: "+fmt(W[k])+" \u2014 "+pct(W[k],TOTAL)+" of total, "+pct(W[k],par)+" of parent");
        var st=STN[D.st[k]];
        if(st==="only-in")line(D.only);else if(st==="noise")line("within sampling noise");
      }else{
        line("value: "+fmt(W[k])+" \u2014 "+pct(W[k],TOTAL)+" of total, "+pct(W[k],par)+" of parent");
        if(D.s)line("self: "+fmt(D.s[k]));
      }
    }
    tip.style.display="block";move(ev);
  }
  function move(ev){
    var r=root.getBoundingClientRect(),x=ev.clientX-r.left+14,y=ev.clientY-r.top+14;
    var w=tip.offsetWidth||200;if(x+w>r.width)x=Math.max(0,ev.clientX-r.left-w-8);
    tip.style.left=x+"px";tip.style.top=y+"px";
  }
  var cur=null;
  svg.addEventListener("mousemove",function(ev){
    var f=frameOf(ev.target);
    if(!f){tip.style.display="none";cur=null;return;}
    if(f!==cur){cur=f;show(+f.getAttribute("data-i"),ev);}else move(ev);
  });
  svg.addEventListener("mouseleave",function(){tip.style.display="none";cur=null;});
  // search
  function search(q){
    var j,m=new Uint8Array(S.length),cov=new Uint8Array(n),sum=0,any=false;
    if(q){
      var re=null;try{re=new RegExp(q);}catch(err){re=null;}
      for(j=0;j<S.length;j++)m[j]=re?(re.test(S[j])?1:0):(S[j].indexOf(q)>=0?1:0);
    }
    for(j=0;j<n;j++){
      var hit=m[D.n[j]]===1, pc=P[j]>=0?cov[P[j]]:0;
      if(hit&&!pc){sum+=W[j];any=true;}
      cov[j]=(hit||pc)?1:0;
      if(hit)els[j].classList.add("pk-match");else els[j].classList.remove("pk-match");
    }
    if(!sorted&&q){ // parents after children: recompute with explicit ancestor walks
      sum=0;for(j=0;j<n;j++){if(!m[D.n[j]])continue;var k=P[j],up=false;for(;k>=0;k=P[k])if(m[D.n[k]]){up=true;break;}if(!up)sum+=W[j];}
    }
    out.textContent=q?("matched: "+(100*sum/TOTAL).toFixed(2)+"% of total"+(any?"":" (no match)")):"";
    root.setAttribute("data-match-pct",q?(100*sum/TOTAL).toFixed(4):"");
  }
  input.addEventListener("input",function(){search(input.value);});
  // sandwich: callers above, callees below, merged across every call site (outermost occurrence per stack)
  var sw=root.querySelector("div.pk-sandwich"), chosen=-1;
  function sandwich(name){
    if(!sw)return;
    var swsvg=sw.querySelector("svg.pk-sandwich-svg"), info=sw.querySelector(".pk-sandwich-info");
    while(swsvg.firstChild)swsvg.removeChild(swsvg.firstChild);
    if(!name){sw.style.display="none";root.removeAttribute("data-sandwich");return;}
    sw.style.display="";root.setAttribute("data-sandwich",name);
    var fi=S.indexOf(name),ord=[],j,k;
    for(j=0;j<n;j++)ord.push(j);
    ord.sort(function(a,b){return DEP[a]-DEP[b]||a-b;});
    var outer=new Int32Array(n),ckey=new Array(n),C=0,up={},down={};
    function add(map,key,pkey,nm,d,v){var e=map[key];if(!e)e=map[key]={k:key,p:pkey,name:nm,d:d,v:0};e.v+=v;}
    for(var q=0;q<n;q++){
      j=ord[q];var pj=P[j],o=(pj>=0&&outer[pj]>=0)?outer[pj]:(D.n[j]===fi?j:-1);outer[j]=o;
      if(o<0)continue;
      if(o===j){
        C+=W[j];ckey[j]="";var key="",d=0;
        for(k=P[j];k>=0;k=P[k]){var pk=key;key=key+"\u001f"+S[D.n[k]];d++;add(up,key,pk,S[D.n[k]],d,W[j]);}
      }else{
        var pk2=ckey[pj];ckey[j]=pk2+"\u001f"+S[D.n[j]];
        add(down,ckey[j],pk2,S[D.n[j]],ckey[j].split("\u001f").length-1,W[j]);
      }
    }
    if(fi<0||C<=0){info.textContent=name+": not in this graph";sw.setAttribute("data-total","0");
      swsvg.setAttribute("height","0");return;}
    function lay(map){ // x within the centre: children side by side by name, in their parent's span
      var es=Object.keys(map).map(function(x){return map[x];}),xs={"":0},next={},maxd=0;
      es.sort(function(a,b){return a.d-b.d||(a.name<b.name?-1:a.name>b.name?1:0);});
      es.forEach(function(e){var base=(e.p in next)?next[e.p]:xs[e.p];e.x=base;next[e.p]=base+e.v;xs[e.k]=e.x;
        if(e.d>maxd)maxd=e.d;});
      return {es:es,maxd:maxd};
    }
    var U=lay(up),L=lay(down);
    if(D.inv){var T=U;U=L;L=T;}   // an inverted graph's ancestors are callees, its descendants callers
    var col=D.colors[D.c[S.indexOf(name)>=0?ord.filter(function(x){return outer[x]===x;})[0]:0]];
    swsvg.setAttribute("height",String((U.maxd+L.maxd+1)*ROW));
    function draw(e,side,y,color){
      var el=mk(-1,e.name,color);el.setAttribute("class","pk-sw-frame");el.removeAttribute("data-i");
      el.setAttribute("data-side",side);el.setAttribute("data-depth",String(e.d));el.setAttribute("data-value",String(e.v));
      el.setAttribute("x",(e.x/C*100).toFixed(4)+"%");el.setAttribute("width",(e.v/C*100).toFixed(4)+"%");
      el.setAttribute("y",String(y));
      var tt=document.createElementNS(SVGNS,"title");
      tt.textContent=e.name+"\n"+fmt(e.v)+" \u2014 "+pct(e.v,C)+" of "+name+", "+pct(e.v,TOTAL)+" of total";
      el.appendChild(tt);swsvg.appendChild(el);
    }
    U.es.forEach(function(e){draw(e,"caller",(U.maxd-e.d)*ROW,"#f2c38b");});
    draw({name:name,d:0,v:C,x:0},"focus",U.maxd*ROW,col||"#e8a33c");
    L.es.forEach(function(e){draw(e,"callee",(U.maxd+e.d)*ROW,"#9cc7e8");});
    sw.setAttribute("data-total",String(C));
    var nc=U.es.filter(function(e){return e.d===1;}).length,ne=L.es.filter(function(e){return e.d===1;}).length;
    info.textContent=name+" \u2014 "+fmt(C)+" ("+pct(C,TOTAL)+" of total), "+nc+" direct caller"+(nc===1?"":"s")+", "+
      ne+" direct callee"+(ne===1?"":"s");
  }
  function pick(){
    if(chosen>=0)return S[D.n[chosen]];
    var q=input.value;if(!q)return null;
    if(S.indexOf(q)>=0)return q;
    var re=null;try{re=new RegExp(q);}catch(err){re=null;}
    var best=null,bw=-1,tot={};
    for(var j=0;j<n;j++){var nm=S[D.n[j]];if(re?re.test(nm):nm.indexOf(q)>=0){tot[nm]=(tot[nm]||0)+W[j];}}
    Object.keys(tot).forEach(function(k){if(tot[k]>bw){bw=tot[k];best=k;}});
    return best;
  }
  if(sw){
    root.querySelector("button.pk-flame-sandwich").addEventListener("click",function(){sandwich(pick());});
    sw.querySelector("button.pk-sandwich-close").addEventListener("click",function(){sandwich(null);});
    sw.querySelector("svg.pk-sandwich-svg").addEventListener("click",function(ev){
      var t=ev.target;while(t&&!(t.classList&&t.classList.contains("pk-sw-frame")))t=t.parentNode;
      if(t)sandwich(t.getAttribute("data-name"));});
    root.setAttribute("tabindex","0");
    root.addEventListener("keydown",function(ev){if(ev.key==="s"&&ev.target!==input){sandwich(pick());}});
    if(D.sandwich)sandwich(D.sandwich);
  }
}
var root=(cs&&cs.parentNode&&cs.parentNode.id===ID)?cs.parentNode:document.getElementById(ID);
if(root)init(root);
else if(document.readyState==="loading")document.addEventListener("DOMContentLoaded",function(){init(document.getElementById(ID));});
else setTimeout(function(){init(document.getElementById(ID));},0);
})();"""
