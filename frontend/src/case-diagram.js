// A case on its diagram (staff case page and task page): fetches the case's JSON, draws the diagram of
// the case's own version (with a tab for each called process the case entered, e.g. the refusal chain), marks the elements passed (case-done), where the case stands (case-current),
// incidents (case-incident) and the flows taken (case-flow-taken), and on a click lists what happened at
// that element. The page already lists the current position and the history as text.
import { badge, draw, mark, showStatus, whenReady } from './diagram-marks.js';
import './case-diagram.css';

function line(parent, tag, text, className) {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) {
    node.className = className;
  }
  parent.appendChild(node);
  return node;
}

function json(value) {
  return JSON.stringify(value, null, 2);
}

function showDetails(panel, element, info, current) {
  panel.textContent = '';
  line(panel, 'h3', info ? info.name : element);
  current.filter((c) => c.element === element).forEach((c) => {
    line(panel, 'p', `${c.label}${c.since ? ', с ' + c.since : ''}${c.due_at ? ', срок ' + c.due_at : ''}` +
      `${c.note ? ' (' + c.note + ')' : ''}`, 'case-details__current');
  });
  if (!info) {
    line(panel, 'p', 'Заявление на этом шаге не было.', 'muted');
    panel.hidden = false;
    return;
  }
  if (info.passes.length) {
    const list = line(panel, 'ul', '');
    info.passes.forEach((p) => {
      line(list, 'li', `Пройден: ${p.entered_at} — ${p.ended_at}${p.actor ? ', ' + p.actor : ''}`);
    });
  } else if (!current.some((c) => c.element === element)) {
    line(panel, 'p', 'Заявление на этом шаге не было.', 'muted');
  }
  (info.forms || []).forEach((f) => {
    line(panel, 'p', `Выполнил(а): ${f.completed_by || '—'}, ${f.completed_at}`);
    if (f.data) {
      line(panel, 'pre', json(f.data), 'case-details__data');
    }
  });
  (info.calls || []).forEach((c) => {
    line(panel, 'p', `Сервис ${c.operator}: ${c.status}, попыток: ${c.attempts}` +
      `${c.finished_at ? ', завершён ' + c.finished_at : ''}${c.error ? '; ошибка: ' + c.error : ''}`);
    if (c.params !== undefined) {
      line(panel, 'p', 'Параметры:', 'muted');
      line(panel, 'pre', json(c.params), 'case-details__data');
      line(panel, 'p', 'Результат:', 'muted');
      line(panel, 'pre', json(c.result), 'case-details__data');
    }
  });
  (info.decisions || []).forEach((d) => {
    const rows = d.rules.map((r) => `строка ${r.row}${r.description ? ' («' + r.description + '»)' : ''}`);
    line(panel, 'p', `Решение «${d.decision}»: сработала ${rows.join(', ') || 'ни одна строка'}`);
    const list = line(panel, 'ul', '');
    d.inputs.forEach((i) => line(list, 'li', `${i.label}: ${json(i.value)}`));
  });
  panel.hidden = false;
}

// Draws one of the case's diagrams (its own process, or a process it called) with the case's marks.
async function drawProcess(container, data, proc) {
  container.dataset.viewerReady = '';
  if (container.caseViewer) {
    container.caseViewer.destroy();
    container.caseViewer = null;
  }
  const viewer = await draw(container, proc.xml);
  if (!viewer) {
    return;
  }
  container.caseViewer = viewer;
  mark(viewer, proc.done, 'case-done');
  mark(viewer, proc.flows, 'case-flow-taken');
  mark(viewer, data.current.filter((c) => c.kind !== 'incident').map((c) => c.element), 'case-current');
  mark(viewer, (proc.active || []).filter((id) => !data.current.some((c) => c.element === id)), 'case-current');
  mark(viewer, data.current.filter((c) => c.kind === 'incident').map((c) => c.element), 'case-incident');
  data.current.forEach((c) => {
    if (c.kind === 'timer' && c.due_at) {
      badge(viewer, c.element, c.due_at, 'case-badge case-badge--timer');
    }
  });
  const panel = container.parentElement.querySelector('[data-case-details]');
  viewer.get('eventBus').on('element.click', (event) => {
    const id = event.element.id;
    if (panel && event.element.type !== 'bpmn:Process' && !event.element.waypoints) {
      showDetails(panel, id, data.details[id], data.current);
      container.dataset.selected = id;
    }
  });
  container.dataset.process = proc.process_id || '';
  container.dataset.viewerReady = 'case';
}

// One tab per diagram the case passed through, when it entered a called process (callActivity).
function processTabs(container, data, processes) {
  const tabs = document.createElement('div');
  tabs.className = 'case-diagram__tabs';
  tabs.setAttribute('role', 'tablist');
  tabs.setAttribute('aria-label', 'Схемы процессов заявления');
  processes.forEach((proc, index) => {
    const tab = line(tabs, 'button', proc.name || proc.process_id, 'case-diagram__tab');
    tab.type = 'button';
    tab.setAttribute('role', 'tab');
    tab.dataset.process = proc.process_id;
    tab.setAttribute('aria-selected', index === 0 ? 'true' : 'false');
    tab.addEventListener('click', () => {
      tabs.querySelectorAll('[role=tab]').forEach((t) => t.setAttribute('aria-selected', String(t === tab)));
      drawProcess(container, data, proc);
    });
  });
  container.parentElement.insertBefore(tabs, container);
}

async function drawCase(container) {
  let data;
  try {
    const response = await fetch(container.dataset.url, { credentials: 'same-origin',
      headers: { Accept: 'application/json' } });
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    }
    data = await response.json();
  } catch (error) {
    showStatus(container, 'Не удалось загрузить схему заявления: ' + error.message);
    return;
  }
  const processes = (data.processes && data.processes.length) ? data.processes
    : [{ process_id: data.process_id, xml: data.xml, done: data.done, flows: data.flows }];
  if (processes.length > 1) {
    processTabs(container, data, processes);
  }
  await drawProcess(container, data, processes[0]);
}

whenReady(() => {
  document.querySelectorAll('[data-case-diagram]').forEach((container) => {
    const fold = container.closest('details');
    if (fold && !fold.open) {
      // A folded canvas has no size to fit the drawing to: draw it the first time it is unfolded.
      fold.addEventListener('toggle', () => {
        if (fold.open && !container.dataset.viewerReady) {
          drawCase(container);
        }
      }, { once: true });
    } else {
      drawCase(container);
    }
  });
});
