// PWA entry point. The data layer (the only owner of PouchDB) lives in js/data/; screens in js/ui/.
import PouchDB from 'pouchdb-browser';

const local = new PouchDB('segel-local');

local.info().then((info) => {
  const status = document.getElementById('sw-status');
  if (status) status.dataset.localRecords = String(info.doc_count);
});
