import { render } from 'preact';
import { App } from './app/App.js';
import { language$ } from './app/i18n.js';
import { startRouter } from './app/router.js';
import { refreshSession } from './app/session.js';
import './style.css';

document.documentElement.lang = language$.get();
startRouter();
void refreshSession();
render(<App />, document.getElementById('app') as HTMLElement);
