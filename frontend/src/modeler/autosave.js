// Debounced saving of the diagram through the drafts API, always on the revision it was edited on.
// A conflict (someone saved in between, or the draft was proposed) stops saving for good: the page
// offers a reload instead, so nobody's work is ever overwritten.

export class Autosave {
  constructor({ url, revision, csrf, serialize, onSaving, onSaved, onConflict, onError, delay = 800 }) {
    Object.assign(this, { url, revision, csrf, serialize, onSaving, onSaved, onConflict, onError, delay });
    this.timer = null;
    this.inFlight = false;
    this.again = false;
    this.blocked = false;
  }

  schedule() {
    if (this.blocked) {
      return;
    }
    clearTimeout(this.timer);
    this.onSaving(false);
    this.timer = setTimeout(() => this.flush(), this.delay);
  }

  async flush() {
    if (this.blocked) {
      return;
    }
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    this.onSaving(true);
    try {
      await this.put(await this.serialize());
    } catch (error) {
      this.onError(error.message);
    } finally {
      this.inFlight = false;
      if (this.again && !this.blocked) {
        this.again = false;
        this.flush();
      }
    }
  }

  async put(xml) {
    const response = await fetch(this.url, {
      method: 'PUT',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': this.csrf },
      body: JSON.stringify({ xml, revision: this.revision }),
    });
    const body = await response.json().catch(() => ({}));
    const message = (body.error && body.error.message) || `HTTP ${response.status}`;
    if (response.ok) {
      this.revision = body.revision;
      this.onSaved(body);
    } else if (response.status === 409) {
      this.blocked = true;
      this.onConflict(message, body);
    } else {
      this.onError(message);
    }
  }
}
