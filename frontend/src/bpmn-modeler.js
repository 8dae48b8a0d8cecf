// The studio's BPMN editor: bpmn-js Modeler with the properties panel and our SpiffWorkflow groups,
// autosaved through the drafts API (on the revision it was edited on) and checked after each save by
// the deploy validation, whose problems are listed and marked on the diagram.
//
// Everything comes from one JSON data block (`#editor-config`), never from inline script, so the
// page keeps the product's CSP (script-src 'self'); texts from the server are written as text.
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import { whenReady } from './diagram-marks.js';
import { Autosave } from './modeler/autosave.js';
import { showProblems } from './modeler/problem-list.js';
import SpiffPropertiesProvider from './modeler/properties.js';
import spiffworkflow from './modeler/spiffworkflow.json';
import translate from './modeler/translate-ru.js';
import './bpmn-modeler.css';

// Our groups start open: they hold what an analyst edits most (the standard ones keep their defaults).
const OPEN_GROUPS = Object.fromEntries(['general', 'spiff-operator-group', 'spiff-timer', 'spiff-form', 'spiff-decision',
  'spiff-lane', 'spiff-scripts'].map((id) => [id, { open: true }]));
const time = (date) => date.toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' });

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

async function postJson(url) {
  const response = await fetch(url, {
    method: 'POST', credentials: 'same-origin',
    headers: { Accept: 'application/json', 'X-CSRFToken': csrfToken() },
  });
  if (!response.ok) {
    throw new Error(`HTTP ${response.status}`);
  }
  return response.json();
}

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

function say(ui, text) {
  ui.status.textContent = text;
}

function showConflict(ui, message) {
  ui.conflict.querySelector('[data-conflict-message]').textContent = message;
  ui.conflict.hidden = false;
  say(ui, 'Изменения не сохранены.');
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
  ui.conflict.querySelector('[data-reload]').addEventListener('click', () => window.location.reload());
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
  const autosave = new Autosave({
    url: ui.config.save_url, revision: ui.config.revision, csrf: csrfToken(),
    serialize: async () => (await modeler.saveXML({ format: true })).xml,
    onSaving: (now) => say(ui, now ? 'Сохраняется…' : 'Есть несохранённые изменения.'),
    onSaved: () => {
      say(ui, `Сохранено в ${time(new Date())}`);
      ui.root.dataset.revision = autosave.revision;
      validate(ui, modeler);
    },
    onConflict: (message) => showConflict(ui, message),
    onError: (message) => say(ui, `Не удалось сохранить: ${message}. Следующая правка повторит сохранение.`),
  });
  modeler.on('commandStack.changed', () => autosave.schedule());
  ui.root.dataset.revision = autosave.revision;
  ui.root.dataset.editorReady = 'true';
  say(ui, 'Изменения сохраняются автоматически.');
  validate(ui, modeler);
}

whenReady(start);
