// The changes between two BPMN models (read by bpmn-moddle), by element id, as the studio lists them.
//
// bpmn-js-differ reports a change only on the element whose own property changed. A timer's
// expression, an extension property or a parameter lives in an element nested in a list, which the
// differ does not track, so such a change would go unreported: this handler hands it to the nearest
// tracked ancestor (the boundary event, the task), or to the shape or edge for diagram geometry.
// The differ also skips reference lists, so lane membership is compared here. The server computes the
// same list in Python (engine/bpmn_diff.py) and a browser test holds the two to the same ids.
import { ChangeHandler, diff } from 'bpmn-js-differ';

const isDi = (element) => element && element.$instanceOf &&
  (element.$instanceOf('bpmndi:BPMNShape') || element.$instanceOf('bpmndi:BPMNEdge'));

class NestedChangeHandler extends ChangeHandler {
  // The tracked element (or DI shape/edge) that owns `model`, walking up its parents.
  owner(model) {
    for (let node = model; node; node = node.$parent) {
      if (isDi(node)) {
        return { di: node };
      }
      const tracked = node.$instanceOf && this._isTracked(node);
      if (tracked) {
        return tracked;
      }
    }
    return null;
  }

  changed(model, property, newValue, oldValue) {
    const owner = this.owner(model);
    if (!owner) {
      return;
    }
    if (owner.di) {
      const element = owner.di.bpmnElement;
      if (element) {
        this._layoutChanged[element.id] = element;
      }
      return;
    }
    const key = owner.element === model ? property : `${owner.property}${property}`;
    super.changed(owner.element, key, newValue, oldValue);
  }

  added(model, property, element, idx) {
    if (this._isTracked(element)) {
      super.added(model, property, element, idx);
    } else {
      this.changed(model, `${property}[${idx}]`, element, null);
    }
  }

  removed(model, property, element, idx) {
    if (this._isTracked(element)) {
      super.removed(model, property, element, idx);
    } else {
      this.changed(model, `${property}[${idx}]`, null, element);
    }
  }
}

// flow node id -> sorted ids of the lanes that list it (lanes nest through childLaneSet).
function laneMembership(definitions) {
  const lanes = new Map();
  const visit = (laneSet) => {
    ((laneSet && laneSet.lanes) || []).forEach((lane) => {
      (lane.flowNodeRef || []).forEach((node) => {
        lanes.set(node.id, [...(lanes.get(node.id) || []), lane.id].sort());
      });
      visit(lane.childLaneSet);
    });
  };
  const walk = (container) => {
    (container.laneSets || []).forEach(visit);
    (container.flowElements || []).forEach((element) => {
      if (element.flowElements) {
        walk(element);
      }
    });
  };
  (definitions.rootElements || []).filter((e) => e.$instanceOf('bpmn:Process')).forEach(walk);
  return lanes;
}

function allFlowNodes(definitions) {
  const nodes = new Map();
  const walk = (container) => {
    (container.flowElements || []).forEach((element) => {
      nodes.set(element.id, element);
      walk(element);
    });
  };
  (definitions.rootElements || []).filter((e) => e.$instanceOf('bpmn:Process')).forEach(walk);
  return nodes;
}

// {added, removed, changed, layoutChanged}: objects keyed by element id (bpmn-js-differ's shape).
export function diffModels(oldDefinitions, newDefinitions) {
  const handler = diff(oldDefinitions, newDefinitions, new NestedChangeHandler());
  const before = laneMembership(oldDefinitions);
  const after = laneMembership(newDefinitions);
  const oldNodes = allFlowNodes(oldDefinitions);
  allFlowNodes(newDefinitions).forEach((node, id) => {
    if (!oldNodes.has(id)) {
      return;
    }
    const was = (before.get(id) || []).join(', ');
    const is = (after.get(id) || []).join(', ');
    if (was !== is) {
      handler.changed(node, 'lanes', is, was);
    }
  });
  return {
    added: handler._added, removed: handler._removed, changed: handler._changed,
    layoutChanged: handler._layoutChanged,
  };
}
