// The studio's BPMN editor: bpmn-js Modeler with the properties panel and our SpiffWorkflow groups,
// autosaved through the drafts API (on the revision it was edited on) and checked after each save by
// the deploy validation, whose problems are listed and marked on the diagram.
//
// Everything comes from one JSON data block (`#editor-config`), never from inline script, so the
// page keeps the product's CSP (script-src 'self'); texts from the server are written as text.
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import { whenReady } from './diagram-marks.js';
import { postJson, say, startAutosave } from './modeler/editor-page.js';
import { showProblems } from './modeler/problem-list.js';
import SpiffPropertiesProvider from './modeler/properties.js';
import spiffworkflow from './modeler/spiffworkflow.json';
import translate from './modeler/translate-ru.js';
import './bpmn-modeler.css';

// Our groups start open: they hold what an analyst edits most (the standard ones keep their defaults).
const OPEN_GROUPS = Object.fromEntries(['general', 'spiff-operator-group', 'spiff-timer', 'spiff-form', 'spiff-decision',
  'spiff-lane', 'spiff-scripts'].map((id) => [id, { open: true }]));

async function getJson(url) {
  const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!response.ok) {
    throw new Error(`HTTP ${response.status}`);
  }
  return response.json();
}

function page() {
  const root = document.querySelector('[data-editor]');
  return root && {
    root,
    config: JSON.parse(document.getElementById(root.dataset.editor).textContent),
    canvas: root.querySelector('[data-editor-canvas]'),
    panel: root.querySelector('[data-editor-panel]'),
    status: root.querySelector('[data-editor-status]'),
    conflict: root.querySelector('[data-editor-conflict]'),
    problems: document.querySelector('[data-editor-problems]'),
  };
}

async function validate(ui, modeler) {
  try {
    const { problems } = await postJson(ui.config.validate_url);
    showProblems(ui.problems, problems, { file: ui.config.file, container: ui.canvas, modeler });
  } catch (error) {
    ui.problems.querySelector('[data-problems-summary]').textContent = `Проверка не выполнена: ${error.message}`;
  }
}

async function start() {
  const ui = page();
  if (!ui) {
    return;
  }
  let catalogue;
  try {
    catalogue = await getJson(ui.config.catalogue_url);
  } catch (error) {
    say(ui, `Не удалось загрузить справочники: ${error.message}. Обновите страницу.`);
    return;
  }
  ui.canvas.textContent = '';
  const modeler = new Modeler({
    container: ui.canvas,
    propertiesPanel: { parent: ui.panel, layout: { groups: OPEN_GROUPS } },
    additionalModules: [
      BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
      { __init__: ['spiffPropertiesProvider'], spiffPropertiesProvider: ['type', SpiffPropertiesProvider],
        studioCatalogue: ['value', catalogue], translate: ['value', translate] },
    ],
    moddleExtensions: { spiffworkflow },
  });
  try {
    await modeler.importXML(ui.config.xml);
  } catch (error) {
    say(ui, `Файл не открывается в редакторе: ${error.message}. Скачайте его, исправьте и загрузите новым черновиком.`);
    return;
  }
  modeler.get('canvas').zoom('fit-viewport', 'auto');
  const autosave = startAutosave(ui, async () => (await modeler.saveXML({ format: true })).xml,
    () => validate(ui, modeler));
  modeler.on('commandStack.changed', () => autosave.schedule());
  ui.root.dataset.editorReady = 'true';
  say(ui, 'Изменения сохраняются автоматически.');
  validate(ui, modeler);
}

whenReady(start);
