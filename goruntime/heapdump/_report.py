"""Text and HTML reports of a HeapDump (the CLI's output and the notebook display).

The HTML is built as goruntime/_display.py builds its views: every value escaped, the text
report embedded as a ``<pre>`` fallback, no JavaScript.
"""
import html


def _b(n):
    n = int(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def sections(d, *, top=10, gc=True, why=()):
    """The report as (title, header, rows) sections, rows of strings."""
    out = []
    m = d.memstats
    out.append(("heap dump", ("", ""), [
        ("file", d.path), ("written by", f"{d.params['version']} {d.params['arch']}"),
        ("objects", f"{len(d):,} ({_b(d.objects['size'].sum())})"),
        ("goroutines", f"{len(d.goroutines):,} ({len(d.frames):,} frames)"),
        ("roots", f"{len(d.roots):,} pointer slots"),
        ("stack objects", f"{int((d.roots['kind'] == 6).sum()):,} roots in the live stack objects "
                          "(from the binary's pclntab)" if d.stack_objects_read else
                          f"not followed: {d.stack_pointers:,} frame slots point into goroutine "
                          "stacks; give the binary to scan the stack objects there"
                          if d.stack_pointers else "none pointed to"),
        ("finalizers", f"{len(d.finalizers):,} registered, {len(d.queued_finalizers):,} queued"),
        ("dump MemStats", f"HeapAlloc {m.HeapAlloc:,}  HeapObjects {m.HeapObjects:,}  "
                          f"HeapInuse {m.HeapInuse:,}  NextGC {m.NextGC:,}  NumGC {m.NumGC}"),
    ]))
    if gc and d.runtime is not None:
        r = d.gc()
        out.append(("a GC now (goruntime, from the restored roots)", ("", ""), [
            ("live", f"{r['live_objects']:,} objects, {_b(r['live_bytes'])}"),
            ("garbage", f"{r['garbage_objects']:,} objects, {_b(r['garbage_bytes'])}"),
            ("finalizers queued", f"{r['finalizers_queued']:,}"),
            ("NextGC (GOGC=50/100/200)",
             " / ".join(f"{d.next_gc(g):,}" for g in (50, 100, 200))),
        ]))
    t = d.top_retainers(top)
    typed = d.object_type is not None
    idx = d.index_of(t["addr"]) if len(t) else []
    out.append((f"top {top} retainers", ("address", "size", "retained", "site")
                + (("type",) if typed else ()), [
        (f"{int(a):#x}", f"{int(s):,}", _b(r), d.sites[i]["name"] if i >= 0 else "?")
        + ((d.type_name(j) or "?",) if typed else ())
        for a, s, r, i, j in zip(t["addr"], t["size"], t["retained"], t["site"], idx)]))
    out.append(("by allocation site (retained first)", ("site", "objects", "bytes", "retained")
                + (("type",) if typed else ()), [
        (r["name"], f"{r['objects']:,}", _b(r["bytes"]), _b(r["retained"]))
        + ((r["type"] or "?",) if typed else ())
        for r in d.by_site()[:top]]))
    if typed:
        out.append(("by Go type (DWARF; retained first)", ("type", "objects", "bytes", "retained"), [
            (r["type"] or "(untyped)", f"{r['objects']:,}", _b(r["bytes"]), _b(r["retained"]))
            for r in d.by_type()[:top]]))
    out.append(("by size class", ("class", "slot", "objects", "bytes", "reachable"), [
        (str(r["sizeclass"]) if r["sizeclass"] else "large", str(r["size"]) if r["size"] else "-",
         f"{r['objects']:,}", _b(r["bytes"]), f"{r['reachable_objects']:,}")
        for r in d.by_size_class()]))
    for a in why:
        steps = d.why_alive(a)
        if typed:
            rows = [(f"{s['addr']:#x}", f"+{s['offset']:#x}", s.get("field") or "", s["type"] or "?",
                     s.get("root", ""), s["site"]) for s in steps]
            head = ("object", "via offset", "field", "type", "root", "site")
        else:
            rows = [(f"{s['addr']:#x}", f"+{s['offset']:#x}", s.get("root", ""), s["site"]) for s in steps]
            head = ("object", "via offset", "root", "site")
        out.append((f"why is {a:#x} alive?" + ("" if steps else " (unreachable)"), head, rows))
    return out


def text(d, **kw):
    lines = []
    for title, head, rows in sections(d, **kw):
        lines.append(f"== {title}")
        table = ([head] if any(head) else []) + [tuple(r) for r in rows]
        if not table:
            continue
        w = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
        for r in table:
            lines.append("  " + "  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip())
    return "\n".join(lines)


def html_report(d, **kw):
    e = html.escape
    parts = ['<div class="gr-heapdump">']
    for title, head, rows in sections(d, **kw):
        parts.append(f"<h4>{e(title)}</h4><table>")
        if any(head):
            parts.append("<tr>" + "".join(f"<th>{e(str(h))}</th>" for h in head) + "</tr>")
        for r in rows:
            parts.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>")
        parts.append("</table>")
    parts.append(f'<pre class="gr-text-fallback" hidden>{e(repr(d))}</pre></div>')
    return "".join(parts)
