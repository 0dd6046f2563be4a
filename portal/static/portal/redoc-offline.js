// ReDoc's sidebar shows Redocly's logo straight from cdn.redoc.ly, and has no option to
// leave it out.  The portal works offline and sends nobody's address elsewhere, so that
// image is drawn from nothing instead: this runs before ReDoc, and turns any image
// address on that host into an empty picture before the browser can ask for it.
(function () {
  "use strict";
  var REMOTE = /^https?:\/\/cdn\.redoc\.ly\//i;
  var NOTHING = "data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%2F%3E";
  function local(value) { return REMOTE.test(String(value)) ? NOTHING : value; }

  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    var source = this instanceof HTMLImageElement && String(name).toLowerCase() === "src";
    return setAttribute.call(this, name, source ? local(value) : value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) { src.set.call(this, local(value)); },
  });
})();
