// The studio's BPMN view: the bpmn-js NavigatedViewer (pan and zoom, no editing) in each
// `data-studio-viewer="bpmn"` container. Progressive enhancement: the page already lists the
// diagram's elements and offers the file; this only replaces the fallback text with the drawing.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { drawAll, showMessage } from './common.js';
import { linkProblems } from './problems.js';

const MESSAGES = {
  noDi: 'В диаграмме нет разметки для отображения (BPMN DI): элементы процесса описаны, но их положение ' +
    'на схеме не задано. Скачайте файл и откройте его в редакторе BPMN, чтобы увидеть процесс.',
  error: 'Не удалось нарисовать диаграмму: ',
};

function hasDiagramInterchange(viewer) {
  const definitions = viewer.getDefinitions();
  const diagrams = (definitions && definitions.diagrams) || [];
  return diagrams.some((diagram) => diagram.plane && (diagram.plane.planeElement || []).length > 0);
}

async function drawBpmn(container, xml) {
  container.textContent = '';
  container.classList.add('studio-canvas--active');
  const viewer = new NavigatedViewer({ container });
  try {
    await viewer.importXML(xml);
  } catch (error) {
    showMessage(container, MESSAGES.error + error.message);
    return;
  }
  if (!hasDiagramInterchange(viewer)) {
    showMessage(container, MESSAGES.noDi);
    return;
  }
  viewer.get('canvas').zoom('fit-viewport', 'auto');
  linkProblems(container, viewer);
  container.dataset.viewerReady = 'bpmn';
}

drawAll('bpmn', drawBpmn);
