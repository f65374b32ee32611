// Renders GraphiQL for Tether. Loaded after react, react-dom and graphiql's UMD
// builds (globals React, ReactDOM, GraphiQL); no inline script, so the page runs
// under script-src 'self'.
(function () {
  'use strict';

  var endpoint = new URL('/graphql', window.location.origin);
  var subscriptionEndpoint = new URL('/graphql', window.location.origin);
  subscriptionEndpoint.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

  // @graphiql/toolkit's createGraphiQLFetcher (GraphiQL.createFetcher):
  // - queries and mutations: POST JSON to /graphql. Headers typed in the
  //   Headers editor (e.g. Authorization) are merged over these per request.
  // - subscriptions: the graphql-ws client bundled inside graphiql.min.js
  //   connects to ws(s)://<origin>/graphql with subprotocol graphql-transport-ws
  //   and sends the Headers editor's JSON as the connection_init payload.
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.toString(),
    subscriptionUrl: subscriptionEndpoint.toString(),
    headers: {
      accept: 'application/graphql-response+json, application/json'
    },
    // Tether has no multipart/mixed (@defer/@stream) responses: plain JSON POSTs only.
    enableIncrementalDelivery: false
  });

  // GraphiQL's storage, minus request headers. With shouldPersistHeaders false
  // GraphiQL keeps headers out of its tab state, but its history plugin still
  // writes each run's headers (so a bearer token) into localStorage
  // "graphiql:queries" / "graphiql:favorites". This wrapper strips them there
  // and never stores "graphiql:headers".
  var PREFIX = 'graphiql:';
  var HISTORY_KEYS = ['graphiql:queries', 'graphiql:favorites'];

  function sanitize(key, value) {
    if (key === PREFIX + 'headers') return null;
    if (HISTORY_KEYS.indexOf(key) === -1 || typeof value !== 'string') return value;
    var parsed;
    try {
      parsed = JSON.parse(value);
    } catch (e) {
      return null;
    }
    if (!parsed || typeof parsed !== 'object') return null;
    Object.keys(parsed).forEach(function (list) {
      if (Array.isArray(parsed[list])) {
        parsed[list].forEach(function (item) {
          if (item && typeof item === 'object') delete item.headers;
        });
      }
    });
    return JSON.stringify(parsed);
  }

  function localStorageOrNull() {
    try {
      var probe = PREFIX + 'probe';
      window.localStorage.setItem(probe, '1');
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // storage disabled: GraphiQL then keeps everything in memory
    }
  }

  var backing = localStorageOrNull();
  var storage = null;
  if (backing) {
    var graphiqlKeys = function () {
      var keys = [];
      for (var i = 0; i < backing.length; i++) {
        var k = backing.key(i);
        if (k && k.indexOf(PREFIX) === 0) keys.push(k);
      }
      return keys;
    };
    var put = function (key, value) {
      var clean = sanitize(key, value);
      if (clean === null || clean === undefined) backing.removeItem(key);
      else backing.setItem(key, clean);
    };
    // Scrub what an earlier GraphiQL on this origin may have saved.
    [PREFIX + 'headers'].concat(HISTORY_KEYS).forEach(function (key) {
      var old = backing.getItem(key);
      if (old !== null) put(key, old);
    });
    storage = {
      getItem: function (key) { return backing.getItem(key); },
      setItem: put,
      removeItem: function (key) { backing.removeItem(key); },
      get length() { return graphiqlKeys().length; },
      clear: function () { graphiqlKeys().forEach(function (k) { backing.removeItem(k); }); }
    };
  }

  var defaultQuery = [
    '# Tether GraphQL API.',
    '#',
    '# To call it as a user, put this in the Headers tab:',
    '#   { "Authorization": "Bearer <your token>" }',
    '# Headers are not saved in this browser.',
    '',
    '{',
    '  __typename',
    '}',
    ''
  ].join('\n');

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      defaultQuery: defaultQuery,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers'
    })
  );
})();
