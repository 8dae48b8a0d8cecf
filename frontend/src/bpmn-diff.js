// The studio's diff page: each `[data-studio-diff]` block draws the old and the new BPMN side by side
// (bpmn-js NavigatedViewer) and colours what changed, as computed by bpmn-js-differ: removed elements
// on the old drawing, added ones on the new, changed and moved ones on both. The page lists the same
// changes as a table (computed on the server); the drawing only adds the picture.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { getBBox } from 'diagram-js/lib/util/Elements';
import { readSource, showMessage } from './common.js';
import { diffModels } from './diff-changes.js';
import './bpmn-diff.css';

const ERROR = 'Не удалось нарисовать диаграммы для сравнения: ';

function mark(viewer, ids, marker) {
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  const root = canvas.getRootElement();
  ids.forEach((id) => {
    if (registry.get(id) && id !== root.id) {  // the process itself has no shape: the table lists it
      canvas.addMarker(id, marker);
    }
  });
}

const MARGIN = 120;  // around the changes, so their neighbours show where they are
const MIN_BOX = { width: 900, height: 450 };  // never zoom in further than this area

// Both drawings show the same area: the changed elements with some of their surroundings.
function focus(viewers, ids) {
  const elements = [];
  viewers.forEach((viewer) => {
    const registry = viewer.get('elementRegistry');
    ids.forEach((id) => {
      const element = registry.get(id);
      if (element && !element.labelTarget && element !== viewer.get('canvas').getRootElement()) {
        elements.push(element);
      }
    });
  });
  if (elements.length === 0) {
    return;
  }
  const box = getBBox(elements);
  const width = Math.max(box.width + 2 * MARGIN, MIN_BOX.width);
  const height = Math.max(box.height + 2 * MARGIN, MIN_BOX.height);
  const area = { x: box.x + box.width / 2 - width / 2, y: box.y + box.height / 2 - height / 2, width, height };
  viewers.forEach((viewer) => viewer.get('canvas').viewbox(area));
}

async function drawDiff(block) {
  const oldXml = readSource({ dataset: { source: block.dataset.oldSource } });
  const newXml = readSource({ dataset: { source: block.dataset.newSource } });
  const sides = ['old', 'new'].map((side) => {
    const container = block.querySelector(`[data-diff-side="${side}"]`);
    container.textContent = '';
    container.classList.add('studio-canvas--active');
    return new NavigatedViewer({ container });
  });
  const [before, after] = sides;
  try {
    await before.importXML(oldXml);
    await after.importXML(newXml);
  } catch (error) {
    showMessage(block.querySelector('.studio-diff__panes'), ERROR + error.message);
    return;
  }
  const changes = diffModels(before.getDefinitions(), after.getDefinitions());
  const changed = Object.keys(changes.changed);
  const moved = Object.keys(changes.layoutChanged).filter((id) => !changes.changed[id]);
  mark(before, Object.keys(changes.removed), 'diff-removed');
  mark(after, Object.keys(changes.added), 'diff-added');
  sides.forEach((viewer) => {
    mark(viewer, changed, 'diff-changed');
    mark(viewer, moved, 'diff-layout');
  });
  focus(sides, [...Object.keys(changes.removed), ...Object.keys(changes.added), ...changed, ...moved]);
  block.dataset.diffReady = 'true';
}

const start = () => document.querySelectorAll('[data-studio-diff]').forEach(drawDiff);
if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
