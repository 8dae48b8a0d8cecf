// Draws the diagrams of a process version in the studio: BPMN with the bpmn-js NavigatedViewer,
// DMN decisions with the dmn-js viewer. Progressive enhancement: the page already lists the files
// with download links; this script only replaces a container's fallback text with the drawing.
//
// Each container is `<div data-studio-viewer="bpmn|dmn" data-source="ID">`; the XML is the JSON
// string in `<script type="application/json" id="ID">` (data, never executed, so the CSP stays
// script-src 'self'). Element names are drawn by the viewers as SVG/DOM text, never as HTML.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import DmnViewer from 'dmn-js/lib/Viewer';

const MESSAGES = {
  noDi: 'В диаграмме нет разметки для отображения (BPMN DI): элементы процесса описаны, но их положение ' +
    'на схеме не задано. Скачайте файл и откройте его в редакторе BPMN, чтобы увидеть процесс.',
  bpmnError: 'Не удалось нарисовать диаграмму: ',
  dmnError: 'Не удалось показать таблицу решений: ',
  noDecisions: 'В файле нет таблиц решений для показа.',
  decisions: 'Решения в файле',
};

function readSource(container) {
  const block = document.getElementById(container.dataset.source || '');
  return block ? JSON.parse(block.textContent) : null;
}

function showMessage(container, text) {
  const status = container.parentElement.querySelector('[data-viewer-status]');
  if (status) {
    status.textContent = text;
    status.hidden = false;
  }
  container.hidden = true;
}

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
    showMessage(container, MESSAGES.bpmnError + error.message);
    return;
  }
  if (!hasDiagramInterchange(viewer)) {
    showMessage(container, MESSAGES.noDi);
    return;
  }
  viewer.get('canvas').zoom('fit-viewport', 'auto');
  container.dataset.viewerReady = 'bpmn';
}

function decisionButtons(viewer, views, nav) {
  const buttons = views.map((view) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'button button--secondary studio-decisions__item';
    button.textContent = view.name || view.element.id;  // text, never HTML
    button.addEventListener('click', () => {
      viewer.open(view);
      buttons.forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
    });
    return button;
  });
  buttons.forEach((button, i) => button.setAttribute('aria-pressed', String(i === 0)));
  if (buttons.length > 1) {
    nav.replaceChildren(...buttons);
    nav.hidden = false;
  }
}

async function drawDmn(container, xml) {
  container.textContent = '';
  container.classList.add('studio-canvas--active', 'studio-canvas--dmn');
  const viewer = new DmnViewer({ container });
  try {
    await viewer.importXML(xml);
  } catch (error) {
    showMessage(container, MESSAGES.dmnError + error.message);
    return;
  }
  const views = viewer.getViews().filter((view) => view.type !== 'drd');
  if (views.length === 0) {
    showMessage(container, MESSAGES.noDecisions);
    return;
  }
  await viewer.open(views[0]);
  const nav = container.parentElement.querySelector('[data-decisions]');
  if (nav) {
    decisionButtons(viewer, views, nav);
  }
  container.dataset.viewerReady = 'dmn';
}

function start() {
  document.querySelectorAll('[data-studio-viewer]').forEach((container) => {
    const xml = readSource(container);
    if (xml === null) {
      return;
    }
    const draw = container.dataset.studioViewer === 'dmn' ? drawDmn : drawBpmn;
    draw(container, xml);
  });
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
