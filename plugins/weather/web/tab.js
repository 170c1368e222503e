/* global window, document */
// The weather plugin's editor tab: plain HTML and JS, no build step. It runs in an iframe
// sandboxed to allow-scripts (an opaque origin), so it talks to the editor only by
// postMessage (docs/plugins.md, "Web tab"): it asks for the context (chain id and name,
// the UI language) and asks the editor to insert a "Current weather" node.
(function () {
  'use strict';
  var texts = {
    en: { title: 'Weather', intro: 'Adds a "Current weather" node (Open-Meteo) to this chain.', chain: 'Chain', language: 'Language', lat: 'Latitude', lon: 'Longitude', insert: 'Insert weather node', inserted: 'Inserted node {id}.', bad: 'Latitude is -90…90 and longitude -180…180.' },
    ru: { title: 'Погода', intro: 'Добавляет в эту цепочку узел «Текущая погода» (Open-Meteo).', chain: 'Цепочка', language: 'Язык', lat: 'Широта', lon: 'Долгота', insert: 'Вставить узел погоды', inserted: 'Вставлен узел {id}.', bad: 'Широта от -90 до 90, долгота от -180 до 180.' },
  };
  var language = 'en';
  var t = function (key) { return (texts[language] || texts.en)[key]; };
  var $ = function (id) { return document.getElementById(id); };
  var send = function (message) { message.chainflow = 1; window.parent.postMessage(message, '*'); };

  function render() {
    document.documentElement.lang = language;
    ['title', 'intro', 'insert'].forEach(function (id) { $(id).textContent = t(id); });
    $('chain-label').textContent = t('chain');
    $('language-label').textContent = t('language');
    $('lat-label').textContent = t('lat');
    $('lon-label').textContent = t('lon');
  }

  window.addEventListener('message', function (event) {
    // Only the editor that framed this tab speaks to it.
    if (event.source !== window.parent || !event.data || event.data.chainflow !== 1) return;
    var data = event.data;
    if (data.type === 'context') {
      language = data.language === 'ru' ? 'ru' : 'en';
      $('chain').textContent = data.chainName + ' (' + data.chainId + ')';
      $('language').textContent = data.language;
      render();
    } else if (data.type === 'inserted') {
      $('status').textContent = t('inserted').replace('{id}', data.nodeId);
    } else if (data.type === 'error') {
      $('status').textContent = data.message;
    }
  });

  $('insert').addEventListener('click', function () {
    var latitude = Number($('lat').value), longitude = Number($('lon').value);
    if (!isFinite(latitude) || !isFinite(longitude) || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) {
      $('status').textContent = t('bad');
      return;
    }
    send({ type: 'insertNode', nodeType: 'plugin:weather/current', config: { latitude: latitude, longitude: longitude, variable: 'session.weather' } });
  });

  render();
  send({ type: 'ready' });
})();
