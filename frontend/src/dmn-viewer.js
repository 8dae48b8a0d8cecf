// The studio's DMN view: the dmn-js viewer in each `data-studio-viewer="dmn"` container, opening
// the first decision table, with a button per decision when the file holds several.
import DmnViewer from 'dmn-js/lib/Viewer';
import { drawAll, showMessage } from './common.js';

const MESSAGES = {
  error: 'Не удалось показать таблицу решений: ',
  noDecisions: 'В файле нет таблиц решений для показа.',
};

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
    showMessage(container, MESSAGES.error + error.message);
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

drawAll('dmn', drawDmn);
