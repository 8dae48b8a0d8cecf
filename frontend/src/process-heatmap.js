// A process's step analytics on its diagram: elements shaded by how many passes they had (heat-1..heat-5),
// each with its count, and each sequence flow with the number of cases that took it. The data (and the
// XML) are the JSON block the page carries; the page has the same figures as tables.
import { badge, draw, mark, whenReady } from './diagram-marks.js';
import './process-heatmap.css';

async function drawHeatmap(container) {
  const block = document.getElementById(container.dataset.source || '');
  if (!block) {
    return;
  }
  const data = JSON.parse(block.textContent);
  const viewer = await draw(container, data.xml);
  if (!viewer) {
    return;
  }
  Object.entries(data.elements).forEach(([id, e]) => {
    mark(viewer, [id], `heat-${e.heat}`);
    badge(viewer, id, String(e.passes), 'heat-badge');
  });
  Object.entries(data.flows).forEach(([id, taken]) => {
    mark(viewer, [id], 'flow-taken');
    badge(viewer, id, String(taken), 'flow-badge');
  });
  container.dataset.viewerReady = 'heatmap';
}

whenReady(() => document.querySelectorAll('[data-process-heatmap]').forEach(drawHeatmap));
