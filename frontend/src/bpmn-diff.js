// The studio's diff page: each `[data-studio-diff]` block draws the old and the new BPMN side by side
// (bpmn-js NavigatedViewer) and colours what changed, as computed by bpmn-js-differ: removed elements
// on the old drawing, added ones on the new, changed and moved ones on both. The page lists the same
// changes as a table (computed on the server); the drawing only adds the picture.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
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
    viewer.get('canvas').zoom('fit-viewport', 'auto');
  });
  block.dataset.diffReady = 'true';
}

const start = () => document.querySelectorAll('[data-studio-diff]').forEach(drawDiff);
if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
