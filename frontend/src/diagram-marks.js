// Shared by the case diagram and the process heatmap: draw a BPMN diagram read-only, mark elements and
// flows with CSS classes, put small text badges on them, and start once the page is parsed.
// Everything shown comes from our own JSON and is written as text (never as HTML).
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

export function showStatus(container, text) {
  const status = container.parentElement.querySelector('[data-viewer-status]');
  if (status) {
    status.textContent = text;
    status.hidden = false;
  }
  container.hidden = true;
}

// Draws `xml` into `container`; resolves to the viewer, or null when it could not be drawn.
export async function draw(container, xml) {
  container.textContent = '';
  container.classList.add('studio-canvas--active');
  const viewer = new NavigatedViewer({ container });
  try {
    await viewer.importXML(xml);
  } catch (error) {
    showStatus(container, 'Не удалось нарисовать схему: ' + error.message);
    return null;
  }
  viewer.get('canvas').zoom('fit-viewport', 'auto');
  return viewer;
}

// Adds `marker` to each element id that the diagram has (ids of other versions are skipped).
export function mark(viewer, ids, marker) {
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  ids.forEach((id) => {
    if (registry.get(id)) {
      canvas.addMarker(id, marker);
    }
  });
}

// A small text badge on an element (a count, a state), placed at its top right or, for a flow, its middle.
export function badge(viewer, id, text, className) {
  const element = viewer.get('elementRegistry').get(id);
  if (!element) {
    return;
  }
  const node = document.createElement('span');
  node.className = className;
  node.textContent = text;
  let position = { top: -10, right: 10 };
  if (element.waypoints) {
    const points = element.waypoints;
    const middle = points[Math.floor(points.length / 2) - (points.length % 2 === 0 ? 1 : 0)];
    const next = points[points.indexOf(middle) + 1] || middle;
    const minX = Math.min(...points.map((p) => p.x));
    const minY = Math.min(...points.map((p) => p.y));
    position = { left: (middle.x + next.x) / 2 - minX, top: (middle.y + next.y) / 2 - minY - 18 };
  }
  viewer.get('overlays').add(id, { position, html: node });
}

export function whenReady(start) {
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}
