"""Chart options the customer pages share (ECharts, vendored under static/vendor/)."""

TO_MARK = "\u200b"  # the right-hand side of a stage sankey (a stage may appear on both sides)


def stage_sankey(flows, *, link=None, top=8, toolbox=None):
    """The lifecycle stage flows as a sankey: each flow (``from_label`` → ``to_label``, ``count``)
    a link between a stage on the left and one on the right; ``link(flow)`` adds to a link (the
    drill-down address)."""
    nodes, seen, links = [], set(), []
    for flow in flows:
        source, target = str(flow["from_label"]), str(flow["to_label"]) + TO_MARK
        for name in (source, target):
            if name not in seen:
                seen.add(name)
                nodes.append({"name": name})
        links.append({"source": source, "target": target, "value": flow["count"], **(link(flow) if link else {})})
    option = {"toolbox": toolbox} if toolbox else {}
    option.update(
        {
            "tooltip": {"trigger": "item"},
            "series": [
                {
                    "type": "sankey",
                    "left": 8,
                    "right": 120,
                    "top": top,
                    "bottom": 8,
                    "nodeAlign": "justify",
                    "emphasis": {"focus": "adjacency"},
                    "lineStyle": {"color": "gradient", "curveness": 0.5},
                    "data": nodes,
                    "links": links,
                }
            ],
        }
    )
    return option
