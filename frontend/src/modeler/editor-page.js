// What the BPMN and the DMN editor pages share: the CSRF token, JSON calls, the status line and the
// autosave with its conflict panel (a conflict stops saving and offers a reload; nothing is overwritten).
import { Autosave } from './autosave.js';

const time = (date) => date.toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' });

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

export async function postJson(url) {
  const response = await fetch(url, {
    method: 'POST', credentials: 'same-origin',
    headers: { Accept: 'application/json', 'X-CSRFToken': csrfToken() },
  });
  if (!response.ok) {
    throw new Error(`HTTP ${response.status}`);
  }
  return response.json();
}

export function say(ui, text) {
  ui.status.textContent = text;
}

// The page's autosave: `serialize` gives the file's text, `afterSave` runs after each save (validation).
export function startAutosave(ui, serialize, afterSave) {
  ui.conflict.querySelector('[data-reload]').addEventListener('click', () => window.location.reload());
  const autosave = new Autosave({
    url: ui.config.save_url, revision: ui.config.revision, csrf: csrfToken(), serialize,
    onSaving: (now) => say(ui, now ? 'Сохраняется…' : 'Есть несохранённые изменения.'),
    onSaved: () => {
      say(ui, `Сохранено в ${time(new Date())}`);
      ui.root.dataset.revision = autosave.revision;
      afterSave();
    },
    onConflict: (message) => {
      ui.conflict.querySelector('[data-conflict-message]').textContent = message;
      ui.conflict.hidden = false;
      say(ui, 'Изменения не сохранены.');
    },
    onError: (message) => say(ui, `Не удалось сохранить: ${message}. Следующая правка повторит сохранение.`),
  });
  ui.root.dataset.revision = autosave.revision;
  return autosave;
}
