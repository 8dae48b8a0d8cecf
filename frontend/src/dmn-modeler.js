// The studio's DMN editor: dmn-js Modeler on one decision file of a draft (inputs, outputs, rules,
// hit policy in the decision table editor), autosaved through the drafts API on the revision it was
// edited on, and checked after each save by the deploy validation, whose problems are listed.
//
// Everything comes from one JSON data block (`#dmn-editor-config`), never from inline script, so the
// page keeps the product's CSP (script-src 'self'; styles: 'self', the watermark's hashes and the one
// nonce'd style element of the expression editors); texts from the server are written as text.
import DmnModeler from 'dmn-js/lib/Modeler';
import { StyleModule } from 'style-mod';
import { postJson, say, startAutosave } from './modeler/editor-page.js';
import './dmn-modeler.css';

function page() {
  const root = document.querySelector('[data-dmn-editor]');
  return root && {
    root,
    config: JSON.parse(document.getElementById(root.dataset.dmnEditor).textContent),
    canvas: root.querySelector('[data-editor-canvas]'),
    decisions: root.querySelector('[data-editor-decisions]'),
    status: root.querySelector('[data-editor-status]'),
    conflict: root.querySelector('[data-editor-conflict]'),
    problems: document.querySelector('[data-editor-problems]'),
  };
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text || '—';
  row.appendChild(td);
}

function listProblems(ui, problems) {
  const table = ui.problems.querySelector('table');
  const body = table.querySelector('tbody');
  body.textContent = '';
  problems.forEach((problem) => {
    const row = document.createElement('tr');
    [problem.file, problem.element_id, problem.element_name, problem.message].forEach((text) => cell(row, text));
    body.appendChild(row);
  });
  table.hidden = problems.length === 0;
  ui.problems.querySelector('[data-problems-summary]').textContent = problems.length
    ? `Черновик не пройдёт развёртывание: проблем — ${problems.length}.`
    : 'Проверка пройдена: черновик проходит все проверки развёртывания.';
}

async function validate(ui) {
  const summary = ui.problems.querySelector('[data-problems-summary]');
  try {
    listProblems(ui, (await postJson(ui.config.validate_url)).problems);
  } catch (error) {
    summary.textContent = `Проверка не выполнена: ${error.message}`;
  }
}

// A button per decision table when the file holds several (the first is open).
function decisionButtons(ui, modeler, views) {
  if (views.length < 2) {
    return;
  }
  const buttons = views.map((view) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'btn btn--secondary';
    button.textContent = view.name || view.element.id;
    button.addEventListener('click', async () => {
      await modeler.open(view);
      buttons.forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
    });
    return button;
  });
  buttons.forEach((b, i) => b.setAttribute('aria-pressed', String(i === 0)));
  ui.decisions.replaceChildren(...buttons);
  ui.decisions.hidden = false;
}

async function start() {
  const ui = page();
  if (!ui) {
    return;
  }
  ui.canvas.textContent = '';
  // The expression editors (CodeMirror) write their styles into one <style> element per document; made
  // here first with the page's nonce, it is the only inline style the CSP lets through.
  StyleModule.mount(document, [], { nonce: ui.config.style_nonce });
  const modeler = new DmnModeler({ container: ui.canvas });
  try {
    await modeler.importXML(ui.config.xml);
  } catch (error) {
    say(ui, `Файл не открывается в редакторе: ${error.message}. Скачайте его, исправьте и загрузите новым черновиком.`);
    return;
  }
  const views = modeler.getViews().filter((view) => view.type === 'decisionTable');
  if (!views.length) {
    say(ui, 'В файле нет таблиц решений.');
    return;
  }
  await modeler.open(views[0]);
  decisionButtons(ui, modeler, views);
  const autosave = startAutosave(ui, async () => (await modeler.saveXML({ format: true })).xml, () => validate(ui));
  // Every view (each decision table) has its own command stack: listen on the one open.
  const listen = () => {
    const viewer = modeler.getActiveViewer();
    if (viewer && !viewer.studioListening) {
      viewer.get('eventBus').on('commandStack.changed', () => autosave.schedule());
      viewer.studioListening = true;
    }
  };
  modeler.on('views.changed', listen);
  listen();
  ui.root.dataset.editorReady = 'true';
  say(ui, 'Изменения сохраняются автоматически.');
  validate(ui);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
