"""BPMN diagram interchange (DI): a layered left-to-right layout and the checks of a diagram's DI.

Modelers (bpmn.io, Camunda Modeler) draw only what the DI section says, so a process without one
shows an empty canvas. `layout_bpmn` computes the DI from the semantic model alone and writes it as
text just before the closing `definitions` tag: every byte of the semantic part stays as it was, any
earlier DI is replaced, and the same input always gives the same output.

The layout ranks flow nodes by longest path over the sequence flows (loops are broken at their back
edges), gives each rank a column and each lane a band of rows, draws expanded sub-processes with
their children inside and boundary events on their host's border, and routes every flow
orthogonally through the free channels between columns and rows, so that no edge crosses a shape.

`diagram_problems` is the reverse: it reads a diagram's DI and lists what a modeler would show
wrongly (missing shapes or edges, overlapping shapes, edges through shapes, nodes outside their lane).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import pairwise

from lxml import etree

from .xml_safety import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

TASKS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
         "businessRuleTask", "callActivity"}
SUB_PROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
            "complexGateway"}
FLOW_NODES = TASKS | SUB_PROCESSES | EVENTS | GATEWAYS | {"boundaryEvent"}

TASK_SIZE = (100, 80)
EVENT_SIZE = (36, 36)
GATEWAY_SIZE = (50, 50)
COLUMN_GAP = 90        # channel between two columns: vertical edge runs and flow labels
ROW_GAP = 140          # channel between two rows: boundary events, labels, horizontal edge runs
ROW_RESERVE = 46       # part of a row gap kept for boundary events and labels on each side
TRACK = 10             # distance between two parallel edge runs in a channel
MARGIN = 60            # free border inside a band or a sub-process (edges go round there)
LANE_HEADER = 30
SUB_HEADER = 30        # room for a sub-process's name above its children
ORIGIN = (20, 20)
CHAR_WIDTH = 7.0       # an 11px font's average character, to size labels
LINE_HEIGHT = 14


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def moved(self, dx: float, dy: float) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.w, self.h)

    def overlaps(self, other: Rect, slack: float = 0.5) -> bool:
        """True when the interiors intersect (touching borders do not count)."""
        return (self.x + slack < other.right and other.x + slack < self.right
                and self.y + slack < other.bottom and other.y + slack < self.bottom)

    def contains(self, other: Rect, slack: float = 0.5) -> bool:
        return (other.x >= self.x - slack and other.y >= self.y - slack
                and other.right <= self.right + slack and other.bottom <= self.bottom + slack)


Point = tuple[float, float]


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _bpmn(node: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str) and c.tag == f"{{{BPMN_NS}}}{name}"]


def node_size(kind: str) -> tuple[int, int]:
    if kind in EVENTS or kind == "boundaryEvent":
        return EVENT_SIZE
    if kind in GATEWAYS:
        return GATEWAY_SIZE
    return TASK_SIZE


def label_size(text: str, max_width: float = 90) -> tuple[int, int]:
    """An estimate of a label's box: modelers wrap names at about 90 px."""
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if line and len(candidate) * CHAR_WIDTH > max_width:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    width = max(len(s) for s in lines) * CHAR_WIDTH
    return math.ceil(min(max(width, 10), max_width + 20)) + 10, LINE_HEIGHT * len(lines)  # renderers pad


def segment_hits(a: Point, b: Point, r: Rect, slack: float = 1.0) -> bool:
    """True when the axis-parallel or oblique segment a-b passes through r's interior."""
    x0, y0, x1, y1 = r.x + slack, r.y + slack, r.right - slack, r.bottom - slack
    if x0 >= x1 or y0 >= y1:
        return False
    # Liang-Barsky clipping against the shrunk rectangle.
    dx, dy = b[0] - a[0], b[1] - a[1]
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, a[0] - x0), (dx, x1 - a[0]), (-dy, a[1] - y0), (dy, y1 - a[1])):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-9


# --------------------------------------------------------------------------------------------
# The semantic model, as far as the layout needs it


@dataclass
class Node:
    id: str
    kind: str
    name: str
    element: etree._Element
    order: int


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str


@dataclass
class Container:
    """A process or a sub-process: its own flow nodes, boundary events and sequence flows."""

    element: etree._Element
    nodes: list[Node] = field(default_factory=list)
    boundaries: list[Node] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)


def read_container(element: etree._Element) -> Container:
    c = Container(element)
    for i, child in enumerate(element):
        kind = _local(child)
        if child.tag != f"{{{BPMN_NS}}}{kind}" or not child.get("id"):
            continue
        if kind in FLOW_NODES:
            node = Node(child.get("id"), kind, (child.get("name") or "").strip(), child, i)
            (c.boundaries if kind == "boundaryEvent" else c.nodes).append(node)
        elif kind == "sequenceFlow":
            c.flows.append(Flow(child.get("id"), child.get("sourceRef", ""), child.get("targetRef", ""),
                                (child.get("name") or "").strip()))
    return c


def leaf_lanes(process: etree._Element) -> list[tuple[etree._Element, int]]:
    """Every lane of the process's lane sets, depth first, with its nesting depth."""
    out: list[tuple[etree._Element, int]] = []

    def walk(lane_set: etree._Element, depth: int) -> None:
        for lane in _bpmn(lane_set, "lane"):
            out.append((lane, depth))
            for child_set in _bpmn(lane, "childLaneSet"):
                walk(child_set, depth + 1)

    for lane_set in _bpmn(process, "laneSet"):
        walk(lane_set, 0)
    return out


def lane_refs(lane: etree._Element) -> list[str]:
    return [(r.text or "").strip() for r in _bpmn(lane, "flowNodeRef")]


# --------------------------------------------------------------------------------------------
# Layout


@dataclass
class Drawing:
    """Shapes, labels and edges in one coordinate frame."""

    shapes: dict[str, Rect] = field(default_factory=dict)
    labels: dict[str, Rect] = field(default_factory=dict)
    edges: dict[str, list[Point]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # "lane", "participant", "expanded", node kind
    order: list[str] = field(default_factory=list)

    def add(self, element_id: str, rect: Rect, kind: str) -> None:
        self.shapes[element_id] = rect
        self.kinds[element_id] = kind
        self.order.append(element_id)

    def merge(self, other: Drawing, dx: float, dy: float) -> None:
        for key in other.order:
            self.add(key, other.shapes[key].moved(dx, dy), other.kinds[key])
        for key, rect in other.labels.items():
            self.labels[key] = rect.moved(dx, dy)
        for key, points in other.edges.items():
            self.edges[key] = [(x + dx, y + dy) for x, y in points]


def _ranks(nodes: list[Node], links: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path ranks over the links after removing the back edges found by a DFS."""
    ids = [n.id for n in nodes]
    succ: dict[str, list[str]] = {i: [] for i in ids}
    indeg = {i: 0 for i in ids}
    for s, t in links:
        if s in succ and t in succ and s != t:
            succ[s].append(t)
            indeg[t] += 1
    state: dict[str, int] = {}
    forward: dict[str, list[str]] = {i: [] for i in ids}
    roots = [i for i in ids if indeg[i] == 0] + ids
    for root in roots:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            current, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[current] = 2
                stack.pop()
            elif nxt not in state:
                forward[current].append(nxt)
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
            elif state[nxt] == 2:
                forward[current].append(nxt)
            # state 1: a back edge, ignored for ranking
    rank = {i: 0 for i in ids}
    order = _topological(ids, forward)
    for i in order:
        for t in forward[i]:
            rank[t] = max(rank[t], rank[i] + 1)
    return rank


def _topological(ids: list[str], forward: dict[str, list[str]]) -> list[str]:
    indeg = {i: 0 for i in ids}
    for s in ids:
        for t in forward[s]:
            indeg[t] += 1
    ready = [i for i in ids if indeg[i] == 0]
    out: list[str] = []
    while ready:
        i = ready.pop(0)
        out.append(i)
        for t in forward[i]:
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    return out


@dataclass(frozen=True)
class Spacing:
    """Room between rows; a sub-process without boundary events or labels is drawn tighter."""

    row_gap: float = ROW_GAP
    reserve: float = ROW_RESERVE
    margin: float = MARGIN


COMPACT = Spacing(row_gap=84, reserve=24, margin=36)  # margin >= row_gap - 2 * reserve


@dataclass
class Grid:
    """Columns (ranks) and rows (per band) of one container, in the container's frame."""

    col_x: list[float]
    col_w: list[float]
    row_y: list[float]
    row_h: list[float]
    width: float
    height: float
    spacing: Spacing

    def channel_after(self, col: int) -> tuple[float, float]:
        """Left x and width of the vertical channel right of a column."""
        return self.col_x[col] + self.col_w[col], COLUMN_GAP if col + 1 < len(self.col_x) else self.spacing.margin

    def channel_before(self, col: int) -> tuple[float, float]:
        width = COLUMN_GAP if col else self.spacing.margin
        return self.col_x[col] - width, width


class Router:
    """Orthogonal routes through the channels, trying the simplest clean shape first."""

    def __init__(self, grid: Grid, obstacles: dict[str, Rect]) -> None:
        self.grid = grid
        self.obstacles = obstacles
        self.segments: list[tuple[Point, Point, str, str]] = []

    def clean(self, points: list[Point], source: str, target: str) -> bool:
        for a, b in pairwise(points):
            for key, rect in self.obstacles.items():
                if key not in (source, target) and segment_hits(a, b, rect):
                    return False
            for c, d, s2, t2 in self.segments:
                if s2 != source and t2 != target and _collinear_overlap(a, b, c, d):
                    return False
        return True

    def commit(self, points: list[Point], source: str, target: str) -> list[Point]:
        points = _simplify(points)
        for a, b in pairwise(points):
            self.segments.append((a, b, source, target))
        return points

    def vertical_x(self, channel: tuple[float, float], y0: float, y1: float, source: str, target: str) -> float:
        """A free vertical run in a channel (fan-outs and fan-ins share one)."""
        left, width = channel
        first = min(TRACK * 2, width / 2)
        for k in range(max(int((width - 2 * first) / TRACK) + 1, 1)):
            x = left + first + k * TRACK
            if self._free((x, y0), (x, y1), source, target):
                return x
        return left + first

    def horizontal_y(self, top: float, x0: float, x1: float, source: str, target: str) -> float:
        sp = self.grid.spacing
        for k in range(int((sp.row_gap - 2 * sp.reserve) / TRACK) + 1):
            y = top + sp.reserve + k * TRACK
            if self._free((x0, y), (x1, y), source, target):
                return y
        return top + sp.reserve

    def _free(self, a: Point, b: Point, source: str, target: str) -> bool:
        return not any(s2 != source and t2 != target and _collinear_overlap(a, b, c, d)
                       for c, d, s2, t2 in self.segments)


def _collinear_overlap(a: Point, b: Point, c: Point, d: Point) -> bool:
    if a[0] == b[0] == c[0] == d[0]:
        lo, hi = sorted((a[1], b[1]))
        lo2, hi2 = sorted((c[1], d[1]))
        return min(hi, hi2) - max(lo, lo2) > 1
    if a[1] == b[1] == c[1] == d[1]:
        lo, hi = sorted((a[0], b[0]))
        lo2, hi2 = sorted((c[0], d[0]))
        return min(hi, hi2) - max(lo, lo2) > 1
    return False


def _simplify(points: list[Point]) -> list[Point]:
    out: list[Point] = []
    for p in points:
        p = (round(p[0]), round(p[1]))
        if out and out[-1] == p:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
            continue
        out.append(p)
    return out


class ContainerLayout:
    """Lays out one process or sub-process in its own frame (top-left at 0, 0)."""

    def __init__(self, container: Container, bands: list[tuple[str | None, list[str]]], header: float) -> None:
        self.c = container
        self.header = header  # room for lane names at the left
        self.bands = bands  # (lane id or None, node ids) in drawing order
        self.drawing = Drawing()
        self.sub_drawings: dict[str, Drawing] = {}
        self.size: dict[str, tuple[float, float]] = {}
        self.band_rect: dict[int, tuple[float, float]] = {}
        nested = _local(container.element) in SUB_PROCESSES
        self.spacing = COMPACT if nested and not container.boundaries else Spacing()

    def run(self) -> tuple[Drawing, float, float]:
        for node in self.c.nodes:
            if node.kind in SUB_PROCESSES:
                inner, w, h = layout_container(node.element, None)
                self.sub_drawings[node.id] = inner
                self.size[node.id] = (max(w, TASK_SIZE[0] * 2), max(h + SUB_HEADER, TASK_SIZE[1] * 2))
            else:
                self.size[node.id] = node_size(node.kind)
        host_of = {b.id: b.element.get("attachedToRef", "") for b in self.c.boundaries}
        links = [(host_of.get(f.source, f.source), f.target) for f in self.c.flows]
        rank = _ranks(self.c.nodes, links)
        floors: dict[str, int] = {}
        for _ in range(4 * len(self.c.nodes) + 1):
            cells = self._rows(rank, host_of, floors)
            grid = self._grid(rank, cells)
            self.drawing = Drawing()
            self._place(rank, cells, grid)
            if not self._raise_floors(cells, floors):
                break
        self._boundaries()
        self._labels()
        self._route(grid, rank, cells, host_of)
        return self.drawing, grid.width, grid.height

    def _raise_floors(self, cells: dict[str, tuple[int, int]], floors: dict[str, int]) -> bool:
        """Push a branch target down when it is drawn above an earlier branch of the same split.

        SpiffWorkflow orders a split's outgoing flows by their targets' y (top to bottom), and
        without DI it keeps the file's order: the diagram must not change which condition is tried
        first or which parallel branch runs first. Only targets in the same band can be moved.
        """
        raised = False
        for targets in _splits(self.c).values():
            for a, b in pairwise(targets):
                ra, rb = self.drawing.shapes.get(a), self.drawing.shapes.get(b)
                if ra is None or rb is None or ra.y <= rb.y or cells[a][0] != cells[b][0]:
                    continue
                floors[b] = cells[a][1] + (1 if cells[a][1] >= cells[b][1] else 0)
                raised = True
        return raised

    def _rows(self, rank: dict[str, int], host_of: dict[str, str],
              floors: dict[str, int]) -> dict[str, tuple[int, int]]:
        """(band, row) of every node: a node keeps its predecessor's row when that is free."""
        band_of = {}
        for b, (_, ids) in enumerate(self.bands):
            for i in ids:
                band_of.setdefault(i, b)
        preds: dict[str, list[tuple[str, bool]]] = {n.id: [] for n in self.c.nodes}
        for f in self.c.flows:
            s = host_of.get(f.source, f.source)
            if f.target in preds and s in preds and rank.get(s, 0) < rank.get(f.target, 0):
                preds[f.target].append((s, f.source in host_of))
        order = {n.id: n.order for n in self.c.nodes}

        def priority(n: Node) -> tuple:
            normal = any(not via for _, via in preds[n.id])
            return (rank[n.id], 0 if normal else 1, n.order)

        cells: dict[str, tuple[int, int]] = {}
        taken: set[tuple[int, int, int]] = set()
        for n in sorted(self.c.nodes, key=priority):
            band = band_of.get(n.id, len(self.bands) - 1)
            placed = sorted((p for p in preds[n.id] if p[0] in cells and cells[p[0]][0] == band),
                            key=lambda p: (p[1], order[p[0]]))
            row = cells[placed[0][0]][1] + (1 if placed[0][1] else 0) if placed else 0
            row = max(row, floors.get(n.id, 0))
            while (band, rank[n.id], row) in taken:
                row += 1
            cells[n.id] = (band, row)
            taken.add((band, rank[n.id], row))
        return cells

    def _grid(self, rank: dict[str, int], cells: dict[str, tuple[int, int]]) -> Grid:
        ncols = max(rank.values(), default=0) + 1
        col_w = [float(GATEWAY_SIZE[0])] * ncols
        rows_per_band = [1] * len(self.bands)
        row_h: dict[tuple[int, int], float] = {}
        for node in self.c.nodes:
            w, h = self.size[node.id]
            col_w[rank[node.id]] = max(col_w[rank[node.id]], w)
            band, row = cells[node.id]
            rows_per_band[band] = max(rows_per_band[band], row + 1)
            row_h[(band, row)] = max(row_h.get((band, row), TASK_SIZE[1]), h)
        sp = self.spacing
        left = self.header + sp.margin
        col_x, x = [], left
        for w in col_w:
            col_x.append(x)
            x += w + COLUMN_GAP
        width = x - COLUMN_GAP + sp.margin
        self.row_index: dict[tuple[int, int], int] = {}
        edge = sp.margin + sp.reserve
        row_y, heights, y = [], [], edge
        for band in range(len(self.bands)):
            top = y - edge
            for row in range(rows_per_band[band]):
                self.row_index[(band, row)] = len(row_y)
                h = row_h.get((band, row), TASK_SIZE[1])
                row_y.append(y)
                heights.append(h)
                y += h + (sp.row_gap if row < rows_per_band[band] - 1 else 0)
            y += edge
            self.band_rect[band] = (top, y - top)
            y += edge
        height = y - edge
        return Grid(col_x, col_w, row_y, heights, width, height, sp)

    def _place(self, rank: dict[str, int], cells: dict[str, tuple[int, int]], grid: Grid) -> None:
        for b, (lane_id, _) in enumerate(self.bands):
            if lane_id is not None:
                top, h = self.band_rect[b]
                self.drawing.add(lane_id, Rect(0, top, grid.width, h), "lane")
        for node in self.c.nodes:
            w, h = self.size[node.id]
            col = rank[node.id]
            r = self.row_index[cells[node.id]]
            x = grid.col_x[col] + (grid.col_w[col] - w) / 2
            y = grid.row_y[r] + (grid.row_h[r] - h) / 2
            rect = Rect(round(x), round(y), w, h)
            if node.id in self.sub_drawings:
                self.drawing.add(node.id, rect, "expanded")
                self.drawing.merge(self.sub_drawings[node.id], rect.x, rect.y + SUB_HEADER)
            else:
                self.drawing.add(node.id, rect, node.kind)

    def _boundaries(self) -> None:
        by_host: dict[str, list[Node]] = {}
        for b in self.c.boundaries:
            by_host.setdefault(b.element.get("attachedToRef", ""), []).append(b)
        self.side: dict[str, int] = {}
        for host_id, events in by_host.items():
            host = self.drawing.shapes.get(host_id)
            if host is None:
                continue
            per_side = max(1, int(host.w // 50))
            bottom, top = events[:per_side], events[per_side:per_side * 2]
            rest = events[per_side * 2:]
            for side, group in ((1, bottom + rest), (-1, top)):
                slots = max(len(group), 1)
                for i, ev in enumerate(group):
                    cx = host.x + host.w * (i + 1) / (slots + 1) if host.w > 110 else host.x + (25 + 50 * i)
                    cy = host.bottom if side == 1 else host.y
                    w, h = EVENT_SIZE
                    self.drawing.add(ev.id, Rect(round(cx - w / 2), round(cy - h / 2), w, h), ev.kind)
                    self.side[ev.id] = side

    def _labels(self) -> None:
        for node in self.c.nodes + self.c.boundaries:
            if not node.name or node.kind in TASKS | SUB_PROCESSES:
                continue
            rect = self.drawing.shapes[node.id]
            w, h = label_size(node.name)
            if node.kind == "boundaryEvent":
                first = rect.cx < self._host_cx(node)
                x = rect.x - 2 - w if first else rect.right + 2
                y = rect.bottom + 2 if self.side[node.id] == 1 else rect.y - 2 - h
            elif node.kind in GATEWAYS:
                x, y = rect.cx - w / 2, rect.y - 4 - h
            else:
                x, y = rect.cx - w / 2, rect.bottom + 4
            self.drawing.labels[node.id] = Rect(round(x), round(y), w, h)

    def _host_cx(self, node: Node) -> float:
        host = self.drawing.shapes[node.element.get("attachedToRef", "")]
        return host.cx

    def _route(self, grid: Grid, rank: dict[str, int], cells: dict[str, tuple[int, int]],
               host_of: dict[str, str]) -> None:
        obstacles = {k: v for k, v in self.drawing.shapes.items()
                     if self.drawing.kinds[k] != "lane" and k in self._own_ids()}
        router = Router(grid, obstacles)
        col = dict(rank)
        row = {k: self.row_index[v] for k, v in cells.items()}
        for b in self.c.boundaries:
            host = b.element.get("attachedToRef", "")
            col[b.id], row[b.id] = col.get(host, 0), row.get(host, 0)
        flows = sorted(self.c.flows, key=lambda f: (f.source in host_of, col.get(f.source, 0)))
        for f in flows:
            src, dst = self.drawing.shapes.get(f.source), self.drawing.shapes.get(f.target)
            if src is None or dst is None:
                continue
            points = self._route_one(router, grid, f, src, dst, col, row, host_of)
            self.drawing.edges[f.id] = router.commit(points, f.source, f.target)
        for f in self.c.flows:
            if f.name and f.id in self.drawing.edges:
                others = [seg for key, pts in self.drawing.edges.items() if key != f.id for seg in pairwise(pts)]
                self.drawing.labels[f.id] = _flow_label(self.drawing.edges[f.id], f.name, others)

    def _own_ids(self) -> set[str]:
        return {n.id for n in self.c.nodes} | {b.id for b in self.c.boundaries}

    def _route_one(self, router: Router, grid: Grid, f: Flow, src: Rect, dst: Rect,
                   col: dict[str, int], row: dict[str, int], host_of: dict[str, str]) -> list[Point]:
        s, t = f.source, f.target
        end = (dst.x, dst.cy)
        enter_x = grid.channel_before(col[t])
        candidates: list[list[Point]] = []
        if s in host_of:
            side = self.side[s]
            start = (src.cx, src.bottom if side == 1 else src.y)
            if (end[1] - start[1]) * side > 0 and end[0] > start[0]:
                candidates.append([start, (start[0], end[1]), end])
            gap_top = self._gap_after(grid, row[s]) if side == 1 else self._gap_before(grid, row[s])
            y = router.horizontal_y(gap_top, start[0], enter_x[0], s, t)
            x = router.vertical_x(enter_x, y, end[1], s, t)
            candidates.append([start, (start[0], y), (x, y), (x, end[1]), end])
        else:
            start = (src.right, src.cy)
            exit_x = grid.channel_after(col[s])
            if col[t] > col[s]:
                if abs(start[1] - end[1]) < 1:
                    candidates.append([start, end])
                x = router.vertical_x(exit_x, start[1], end[1], s, t)
                candidates.append([start, (x, start[1]), (x, end[1]), end])
                x = router.vertical_x(enter_x, start[1], end[1], s, t)
                candidates.append([start, (x, start[1]), (x, end[1]), end])
            candidates += self._track_routes(router, grid, s, t, start, end, exit_x, enter_x, row)
        for points in candidates:
            if router.clean(points, s, t):
                return points
        return candidates[-1]

    def _track_routes(self, router: Router, grid: Grid, s: str, t: str, start: Point, end: Point,
                      exit_x: tuple[float, float], enter_x: tuple[float, float],
                      row: dict[str, int]) -> list[list[Point]]:
        gaps = sorted({self._gap_after(grid, row[s]), self._gap_before(grid, row[s]),
                       self._gap_after(grid, row[t]), self._gap_before(grid, row[t])},
                      key=lambda g: (abs(g - start[1]) + abs(g - end[1]), g))
        routes = []
        for gap_top in gaps:
            mid = gap_top + grid.spacing.row_gap / 2
            x0 = router.vertical_x(exit_x, start[1], mid, s, t)
            x1 = router.vertical_x(enter_x, mid, end[1], s, t)
            y = router.horizontal_y(gap_top, x0, x1, s, t)
            routes.append([start, (x0, start[1]), (x0, y), (x1, y), (x1, end[1]), end])
        return routes

    @staticmethod
    def _gap_after(grid: Grid, r: int) -> float:
        return grid.row_y[r] + grid.row_h[r]

    @staticmethod
    def _gap_before(grid: Grid, r: int) -> float:
        return grid.row_y[r] - grid.spacing.row_gap


def _splits(container: Container) -> dict[str, list[str]]:
    """The targets of every node with more than one outgoing flow, in the file's order."""
    out: dict[str, list[str]] = {}
    for f in container.flows:
        out.setdefault(f.source, []).append(f.target)
    return {s: ts for s, ts in out.items() if len(ts) > 1}


def _flow_label(points: list[Point], name: str, others: list[tuple[Point, Point]]) -> Rect:
    """Above the last horizontal run no other flow shares (where a branch turns toward its target)."""
    runs = [(a, b) for a, b in pairwise(points) if a[1] == b[1] and abs(b[0] - a[0]) >= 30]
    own = [(a, b) for a, b in runs if not any(_collinear_overlap(a, b, c, d) for c, d in others)]
    a, b = (own or runs or [(points[0], points[1])])[-1]
    w, h = label_size(name, 70)
    x = min(a[0], b[0]) + 6
    return Rect(round(x), round(min(a[1], b[1]) - 4 - h), w, h)


def layout_container(element: etree._Element, lanes: list[tuple[str | None, list[str]]] | None,
                     header: float = 0) -> tuple[Drawing, float, float]:
    container = read_container(element)
    bands = lanes if lanes else [(None, [n.id for n in container.nodes])]
    return ContainerLayout(container, bands, header).run()


def process_bands(process: etree._Element) -> tuple[list[tuple[str | None, list[str]]], dict]:
    """Leaf lanes as bands (nodes of no lane get an unnamed band) and the parent lanes' children."""
    lanes = leaf_lanes(process)
    if not lanes:
        return [], {}
    own = {c.get("id") for c in process if _local(c) in FLOW_NODES}
    parents: dict[str, list[str]] = {}
    bands: list[tuple[str | None, list[str]]] = []
    for lane, _depth in lanes:
        children = [lc.get("id") for cs in _bpmn(lane, "childLaneSet") for lc in _bpmn(cs, "lane")]
        if children:
            parents[lane.get("id")] = children
        else:
            bands.append((lane.get("id"), [r for r in lane_refs(lane) if r in own]))
    placed = {i for _, ids in bands for i in ids}
    loose = [c.get("id") for c in process if _local(c) in FLOW_NODES - {"boundaryEvent"}
             and c.get("id") not in placed]
    if loose:
        bands.append((None, loose))
    return bands, parents


def layout_process(process: etree._Element) -> tuple[Drawing, float, float]:
    bands, parents = process_bands(process)
    depth = {lane.get("id"): d for lane, d in leaf_lanes(process)}
    header = LANE_HEADER * (max(depth.values()) + 1) if depth else 0
    drawing, width, height = layout_container(process, bands or None, header)
    for parent_id in reversed(list(parents)):
        rects = [drawing.shapes[c] for c in _descendant_lanes(parent_id, parents) if c in drawing.shapes]
        if rects:
            top, bottom = min(r.y for r in rects), max(r.bottom for r in rects)
            drawing.shapes[parent_id] = Rect(0, top, width, bottom - top)
            drawing.kinds[parent_id] = "lane"
            drawing.order.insert(0, parent_id)
    for lane_id, d in depth.items():  # a child lane starts right of its parent's name
        r = drawing.shapes.get(lane_id)
        if r is not None and d:
            drawing.shapes[lane_id] = Rect(r.x + LANE_HEADER * d, r.y, r.w - LANE_HEADER * d, r.h)
    return drawing, width, height


def _descendant_lanes(lane_id: str, parents: dict[str, list[str]]) -> list[str]:
    out = []
    for child in parents.get(lane_id, []):
        out.append(child)
        out += _descendant_lanes(child, parents)
    return out


# --------------------------------------------------------------------------------------------
# Writing the DI


def _fmt(v: float) -> str:
    return str(round(v))


def _bounds(r: Rect) -> str:
    return f'<dc:Bounds x="{_fmt(r.x)}" y="{_fmt(r.y)}" width="{_fmt(r.w)}" height="{_fmt(r.h)}" />'


def _diagram_xml(plane_id: str, drawing: Drawing, used_ids: set[str]) -> str:
    def di_id(element_id: str) -> str:
        candidate = f"{element_id}_di"
        while candidate in used_ids:
            candidate += "_"
        used_ids.add(candidate)
        return candidate

    lines = [f'  <bpmndi:BPMNDiagram xmlns:bpmndi="{BPMNDI_NS}" xmlns:dc="{DC_NS}" xmlns:di="{DI_NS}" '
             f'id="{di_id(plane_id + "_diagram")}">',
             f'    <bpmndi:BPMNPlane id="{di_id(plane_id + "_plane")}" bpmnElement="{plane_id}">']
    for element_id in drawing.order:
        kind = drawing.kinds[element_id]
        extra = ' isHorizontal="true"' if kind in ("lane", "participant") else ""
        extra += ' isExpanded="true"' if kind == "expanded" else ""
        lines.append(f'      <bpmndi:BPMNShape id="{di_id(element_id)}" bpmnElement="{element_id}"{extra}>')
        lines.append(f"        {_bounds(drawing.shapes[element_id])}")
        if element_id in drawing.labels:
            lines.append(f"        <bpmndi:BPMNLabel>{_bounds(drawing.labels[element_id])}</bpmndi:BPMNLabel>")
        lines.append("      </bpmndi:BPMNShape>")
    for flow_id, points in drawing.edges.items():
        lines.append(f'      <bpmndi:BPMNEdge id="{di_id(flow_id)}" bpmnElement="{flow_id}">')
        lines += [f'        <di:waypoint x="{_fmt(x)}" y="{_fmt(y)}" />' for x, y in points]
        if flow_id in drawing.labels:
            lines.append(f"        <bpmndi:BPMNLabel>{_bounds(drawing.labels[flow_id])}</bpmndi:BPMNLabel>")
        lines.append("      </bpmndi:BPMNEdge>")
    lines += ["    </bpmndi:BPMNPlane>", "  </bpmndi:BPMNDiagram>"]
    return "\n".join(lines) + "\n"


def compute_drawings(root: etree._Element) -> list[tuple[str, Drawing]]:
    """One drawing per collaboration (pools stacked) or per process when there is none."""
    processes = {p.get("id"): p for p in _bpmn(root, "process")}
    out: list[tuple[str, Drawing]] = []
    drawn: set[str] = set()
    for collab in _bpmn(root, "collaboration"):
        drawing, y = Drawing(), ORIGIN[1]
        for participant in _bpmn(collab, "participant"):
            process = processes.get(participant.get("processRef", ""))
            if process is None:
                drawing.add(participant.get("id"), Rect(ORIGIN[0], y, 600, 100), "participant")
                y += 130
                continue
            inner, w, h = layout_process(process)
            h = max(h, 100)
            drawing.add(participant.get("id"), Rect(ORIGIN[0], y, w + LANE_HEADER, h), "participant")
            drawing.merge(inner, ORIGIN[0] + LANE_HEADER, y)
            drawn.add(process.get("id"))
            y += h + 30
        out.append((collab.get("id"), drawing))
    for pid, process in processes.items():
        if pid in drawn:
            continue
        inner, _, _ = layout_process(process)
        drawing = Drawing()
        drawing.merge(inner, *ORIGIN)
        out.append((pid, drawing))
    return out


_DI_START = re.compile(rb"<([A-Za-z_][\w.-]*:)?BPMNDiagram[\s>/]")
_DEFS_END = re.compile(rb"</([A-Za-z_][\w.-]*:)?definitions>\s*$")


def strip_di(content: bytes) -> bytes:
    """The file without its DI: everything before the first BPMNDiagram, then the closing tag."""
    end = _DEFS_END.search(content)
    if end is None:
        raise ValueError("not a BPMN file: no closing definitions tag")
    start = _DI_START.search(content)
    head = content[:start.start()] if start else content[:end.start()]
    return head.rstrip() + b"\n" + content[end.start():].rstrip() + b"\n"


def layout_bpmn(content: bytes) -> bytes:
    """The same BPMN file with a freshly computed DI; the semantic part is kept byte for byte."""
    root = parse_xml(content)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise ValueError("not a BPMN file: the root is not bpmn:definitions")
    bare = strip_di(content)
    root = parse_xml(bare)
    used_ids = {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    di = "".join(_diagram_xml(pid, drawing, used_ids) for pid, drawing in compute_drawings(root))
    end = _DEFS_END.search(bare)
    return bare[:end.start()] + di.encode("utf-8") + bare[end.start():]


# --------------------------------------------------------------------------------------------
# Checking a DI


@dataclass(frozen=True)
class DiagramProblem:
    element_id: str
    code: str
    message: str  # Russian: shown to analysts in the studio and printed by the CLI deploy

    def __str__(self) -> str:
        return f"[{self.element_id}] {self.message}"


def _rect_of(shape: etree._Element) -> Rect | None:
    b = shape.find(f"{{{DC_NS}}}Bounds")
    if b is None:
        return None
    try:
        return Rect(float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height")))
    except (TypeError, ValueError):
        return None


def _near_border(p: Point, r: Rect, tolerance: float = 5) -> bool:
    inside_x = r.x - tolerance <= p[0] <= r.right + tolerance
    inside_y = r.y - tolerance <= p[1] <= r.bottom + tolerance
    if not (inside_x and inside_y):
        return False
    return min(abs(p[0] - r.x), abs(p[0] - r.right), abs(p[1] - r.y), abs(p[1] - r.bottom)) <= tolerance


@dataclass
class _Semantics:
    nodes: dict[str, etree._Element] = field(default_factory=dict)
    parent: dict[str, str | None] = field(default_factory=dict)  # enclosing sub-process
    host: dict[str, str] = field(default_factory=dict)
    lanes: dict[str, etree._Element] = field(default_factory=dict)
    participants: list[str] = field(default_factory=list)
    flows: dict[str, Flow] = field(default_factory=dict)
    top_level: set[str] = field(default_factory=set)
    pool: dict[str, str] = field(default_factory=dict)  # top-level node -> its process's participant
    other_shapes: list[str] = field(default_factory=list)  # artifacts and data references
    other_edges: list[str] = field(default_factory=list)  # associations and message flows


def _semantics(root: etree._Element) -> _Semantics:
    sem = _Semantics()

    def walk(container: etree._Element, parent: str | None) -> None:
        c = read_container(container)
        for n in c.nodes + c.boundaries:
            sem.nodes[n.id] = n.element
            sem.parent[n.id] = parent
            if parent is None:
                sem.top_level.add(n.id)
            if n.kind == "boundaryEvent":
                sem.host[n.id] = n.element.get("attachedToRef", "")
            if n.kind in SUB_PROCESSES:
                walk(n.element, n.id)
        for f in c.flows:
            sem.flows[f.id] = f
        for kind in DRAWN_SHAPES:
            sem.other_shapes += [e.get("id") for e in _bpmn(container, kind) if e.get("id")]
        sem.other_edges += [e.get("id") for e in _bpmn(container, "association") if e.get("id")]

    pools = {}
    for collab in _bpmn(root, "collaboration"):
        for participant in _bpmn(collab, "participant"):
            sem.participants.append(participant.get("id"))
            pools[participant.get("processRef", "")] = participant.get("id")
        sem.other_edges += [e.get("id") for kind in ("messageFlow", "association") for e in _bpmn(collab, kind)]
        sem.other_shapes += [e.get("id") for kind in DRAWN_SHAPES for e in _bpmn(collab, kind)]
    for process in _bpmn(root, "process"):
        before = set(sem.top_level)
        walk(process, None)
        if process.get("id") in pools:
            sem.pool.update({n: pools[process.get("id")] for n in sem.top_level - before})
        for lane, _ in leaf_lanes(process):
            sem.lanes[lane.get("id")] = lane
    return sem


DRAWN_SHAPES = ("textAnnotation", "group", "dataObjectReference", "dataStoreReference")
"""Elements besides flow nodes, lanes and pools that bpmnlint's ``no-bpmndi`` wants drawn."""


def diagram_problems(content: bytes, require_labels: bool = False) -> list[DiagramProblem]:
    """What a modeler would draw wrongly: missing or duplicate DI, overlaps, edges through shapes.

    bpmnlint's two DI rules are reported under their names: ``no_bpmndi`` (an element without a shape
    or edge) and ``no_overlapping_elements`` (shapes overlapping, or outside their pool or sub-process;
    touching borders are allowed). The other codes (``di_*``) go further than bpmnlint.

    Boundary events may sit on their host, nodes inside their sub-process; edges may run across
    lanes and pools. With require_labels, named events, gateways and flows must have label bounds.
    """
    root = parse_xml(content)
    sem = _semantics(root)
    problems: list[DiagramProblem] = []
    shapes: dict[str, Rect] = {}
    edges: dict[str, list[Point]] = {}
    labelled: set[str] = set()
    plane_of: dict[str, int] = {}  # several diagrams share one canvas origin; only compare within one
    for index, diagram in enumerate(root.iter(f"{{{BPMNDI_NS}}}BPMNDiagram")):
        for item in diagram.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge"):
            plane_of.setdefault(item.get("bpmnElement", ""), index)
    for shape in root.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        ref, rect = shape.get("bpmnElement", ""), _rect_of(shape)
        if ref in shapes:
            problems.append(DiagramProblem(ref, "di_duplicate", "Элемент нарисован на схеме дважды"))
        elif rect is not None:
            shapes[ref] = rect
        if shape.find(f"{{{BPMNDI_NS}}}BPMNLabel/{{{DC_NS}}}Bounds") is not None:
            labelled.add(ref)
    for edge in root.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
        ref = edge.get("bpmnElement", "")
        if ref in edges:
            problems.append(DiagramProblem(ref, "di_duplicate", "Поток нарисован на схеме дважды"))
            continue
        edges[ref] = [(float(w.get("x", 0)), float(w.get("y", 0))) for w in edge.iter(f"{{{DI_NS}}}waypoint")]
        if edge.find(f"{{{BPMNDI_NS}}}BPMNLabel/{{{DC_NS}}}Bounds") is not None:
            labelled.add(ref)
    for element_id in [*sem.nodes, *sem.lanes, *sem.participants, *sem.other_shapes]:
        if element_id not in shapes:
            problems.append(DiagramProblem(element_id, "no_bpmndi", "Элемент не нарисован на схеме (нет BPMNShape)"))
    for flow_id in [*sem.flows, *sem.other_edges]:
        if flow_id not in edges:
            problems.append(DiagramProblem(flow_id, "no_bpmndi", "Поток не нарисован на схеме (нет BPMNEdge)"))
    problems += _edge_problems(sem, shapes, edges, plane_of)
    problems += _overlap_problems(sem, shapes, plane_of)
    problems += _lane_problems(sem, shapes)
    if require_labels:
        for element_id, element in sem.nodes.items():
            kind = _local(element)
            if element.get("name") and kind not in TASKS | SUB_PROCESSES and element_id not in labelled:
                problems.append(DiagramProblem(element_id, "di_label", "У подписи элемента нет места на схеме"))
        for flow_id, flow in sem.flows.items():
            if flow.name and flow_id not in labelled:
                problems.append(DiagramProblem(flow_id, "di_label", "У подписи потока нет места на схеме"))
    return problems


def _ancestors(element_id: str, sem: _Semantics) -> set[str]:
    out, current = set(), sem.parent.get(element_id)
    while current:
        out.add(current)
        current = sem.parent.get(current)
    return out


def _edge_problems(sem: _Semantics, shapes: dict[str, Rect], edges: dict[str, list[Point]],
                   plane_of: dict[str, int]) -> list[DiagramProblem]:
    problems = []
    nodes = [(key, rect) for key, rect in shapes.items() if key in sem.nodes]
    for flow_id, flow in sem.flows.items():
        points = edges.get(flow_id)
        if points is None:
            continue
        if len(points) < 2:
            problems.append(DiagramProblem(flow_id, "di_waypoints", "У потока на схеме меньше двух точек"))
            continue
        for end, ref, what in ((points[0], flow.source, "источника"), (points[-1], flow.target, "цели")):
            if ref in shapes and not _near_border(end, shapes[ref]):
                problems.append(DiagramProblem(flow_id, "di_detached", f"Поток на схеме не касается {what} «{ref}»"))
        allowed = {flow.source, flow.target} | _ancestors(flow.source, sem) | _ancestors(flow.target, sem)
        candidates = [(key, rect) for key, rect in nodes
                      if key not in allowed and plane_of.get(key) == plane_of.get(flow_id)]
        crossed = sorted({key for a, b in pairwise(points) for key, rect in _near_segment(a, b, candidates)
                          if segment_hits(a, b, rect)})
        for key in crossed:
            problems.append(DiagramProblem(flow_id, "di_edge_through",
                                           f"Поток на схеме проходит через элемент «{key}»"))
    return problems


def _near_segment(a: Point, b: Point, shapes: list[tuple[str, Rect]]) -> list[tuple[str, Rect]]:
    """The shapes whose box meets the segment's box: the only ones it can pass through (a cheap filter
    that keeps the check linear enough for the studio to run it on every page view)."""
    x0, x1, y0, y1 = min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1])
    return [(key, r) for key, r in shapes if r.x < x1 and x0 < r.right and r.y < y1 and y0 < r.bottom]


def _overlap_problems(sem: _Semantics, shapes: dict[str, Rect], plane_of: dict[str, int]) -> list[DiagramProblem]:
    problems = []
    ids = sorted((i for i in sem.nodes if i in shapes), key=lambda i: (shapes[i].x, i))
    for i, a in enumerate(ids):
        ra = shapes[a]
        for b in ids[i + 1:]:
            rb = shapes[b]
            if rb.x >= ra.right:
                break
            if not ra.overlaps(rb) or plane_of.get(a) != plane_of.get(b):
                continue
            if sem.host.get(a) == b or sem.host.get(b) == a:
                continue
            if a in _ancestors(b, sem) or b in _ancestors(a, sem):
                continue
            problems.append(DiagramProblem(a, "no_overlapping_elements", f"Элемент на схеме перекрывает «{b}»"))
    for element_id, parent in sem.parent.items():
        if parent and element_id in shapes and parent in shapes and not shapes[parent].contains(shapes[element_id]):
            problems.append(DiagramProblem(element_id, "no_overlapping_elements",
                                           f"Элемент нарисован вне подпроцесса «{parent}»"))
    for element_id, pool in sem.pool.items():
        if element_id in shapes and pool in shapes \
                and not shapes[pool].contains(shapes[element_id]):
            problems.append(DiagramProblem(element_id, "no_overlapping_elements",
                                           f"Элемент нарисован вне пула «{pool}»"))
    pools = [p for p in sem.participants if p in shapes]
    for i, a in enumerate(pools):
        for b in pools[i + 1:]:
            if shapes[a].overlaps(shapes[b]) and plane_of.get(a) == plane_of.get(b):
                problems.append(DiagramProblem(a, "no_overlapping_elements", f"Пул на схеме перекрывает «{b}»"))
    for event, host in sem.host.items():
        if event in shapes and host in shapes:
            e, h = shapes[event], shapes[host]
            if not (h.x - 1 <= e.cx <= h.right + 1 and h.y - 1 <= e.cy <= h.bottom + 1) or h.contains(e, -1):
                problems.append(DiagramProblem(event, "di_boundary", f"Граничное событие не на границе «{host}»"))
    return problems


def _lane_problems(sem: _Semantics, shapes: dict[str, Rect]) -> list[DiagramProblem]:
    """A top-level node lies in its lane's band (sub-process children lie in their sub-process)."""
    problems = []
    for lane_id, lane in sem.lanes.items():
        band = shapes.get(lane_id)
        if band is None:
            continue
        for ref in lane_refs(lane):
            if ref in sem.top_level and ref in shapes and sem.host.get(ref) is None:
                r = shapes[ref]
                if not (band.y - 0.5 <= r.y and r.bottom <= band.bottom + 0.5):
                    problems.append(DiagramProblem(ref, "di_lane", f"Элемент нарисован вне своей дорожки «{lane_id}»"))
    return problems


def branch_order_problems(content: bytes) -> list[DiagramProblem]:
    """Splits whose targets are drawn in another top-to-bottom order than the file lists the flows.

    SpiffWorkflow tries a split's outgoing flows in the drawn order (by the targets' y), so a DI
    that reorders them changes which condition wins or which parallel branch runs first.
    """
    root = parse_xml(content)
    sem = _semantics(root)
    ys = {s.get("bpmnElement"): r.y for s in root.iter(f"{{{BPMNDI_NS}}}BPMNShape")
          if (r := _rect_of(s)) is not None}
    targets: dict[str, list[str]] = {}
    for flow in sem.flows.values():
        targets.setdefault(flow.source, []).append(flow.target)
    problems = []
    for source, ts in targets.items():
        drawn = [ys.get(t, 0.0) for t in ts]
        if drawn != sorted(drawn):
            problems.append(DiagramProblem(source, "di_branch_order",
                                           "Ветви на схеме идут сверху вниз не в том порядке, что в файле"))
    return problems
