/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The "Fileless execution" page: filelesslockd's D-Bus interface
 * (org.bpflock.Fileless1, dbus/org.bpflock.Fileless1.xml) through Cockpit's
 * own cockpit.js, as the logged-in user. Changes go through the daemon's
 * polkit check; what polkit answers is shown, never thrown.
 *
 * Every string from the bus is put into the page with textContent: event
 * fields name what other users' processes chose (a memfd's name, a comm),
 * and must never become markup.
 */
"use strict";

(function () {
    const NAME = "org.bpflock.Fileless1";
    const PATH = "/org/bpflock/Fileless1";
    const IFACE = NAME;
    const PROPERTIES = "org.freedesktop.DBus.Properties";
    const EVENT_ROWS_MAX = 200;
    // Properties that announce no change (the counters change with every
    // exec; Posture only says it is invalid): read now and then, after each
    // Event and after each PropertiesChanged. The others (Profile,
    // UnitProfiles, ...) come from the proxy, which follows PropertiesChanged.
    const POLLED = ["FilelessExecutions", "Blocked", "EventsLost", "EventsSuppressed", "Pinned", "Posture"];
    const POLL_MS = 2000;
    const REFRESH_SOON_MS = 250;
    // Who receives Event signals (dbus/org.bpflock.Fileless1.conf).
    const EVENT_GROUPS = ["adm", "systemd-journal"];

    let client = null;
    let proxy = null;
    const state = {};
    // The profile the selector was last set to from the daemon: it follows
    // every change, so a choice being made is kept until the profile
    // actually changes.
    let selectedProfile = null;

    function $(id) {
        return document.getElementById(id);
    }

    function setText(id, text) {
        $(id).textContent = text;
    }

    function showAlert(kind, text) {
        const alert = $("fl-alert");
        alert.className = "fl-alert fl-alert-" + kind;
        setText("fl-alert-text", text);
        alert.hidden = false;
    }

    function hideAlert() {
        $("fl-alert").hidden = true;
    }

    function number(v) {
        return typeof v === "number" ? v.toLocaleString() : "–";
    }

    function cell(row, text, className) {
        const td = document.createElement("td");
        td.textContent = text;
        if (className)
            td.className = className;
        row.appendChild(td);
        return td;
    }

    function fillPairs(tableId, pairs) {
        const body = $(tableId).tBodies[0];
        body.replaceChildren();
        for (const [key, value] of pairs) {
            const tr = document.createElement("tr");
            cell(tr, key);
            cell(tr, value);
            body.appendChild(tr);
        }
    }

    function render() {
        if (state.Profile !== undefined) {
            setText("fl-profile", state.Profile);
            if (state.Profile !== selectedProfile) {
                $("fl-profile-select").value = state.Profile;
                selectedProfile = state.Profile;
            }
        }
        if (state.Backend !== undefined)
            setText("fl-backend", state.Backend);
        if (state.Version !== undefined)
            setText("fl-version", state.Version);
        if (state.Pinned !== undefined)
            setText("fl-pinned", state.Pinned ? "pinned at " + state.PinPath + " (enforcement outlives the daemon)"
                                              : "not pinned");
        setText("fl-count-executions", number(state.FilelessExecutions));
        setText("fl-count-blocked", number(state.Blocked));
        setText("fl-count-lost", number(state.EventsLost));
        setText("fl-count-suppressed", number(state.EventsSuppressed));

        const scopes = state.UnitProfiles || [];
        fillPairs("fl-scopes", scopes);
        $("fl-scopes").hidden = scopes.length === 0;
        $("fl-scopes-empty").hidden = scopes.length !== 0;

        // Posture came with the posture report; an older daemon has none.
        if (Array.isArray(state.Posture)) {
            fillPairs("fl-posture", state.Posture);
            $("fl-posture-card").hidden = false;
        }
    }

    function merge(props) {
        for (const key in props)
            state[key] = props[key];
        render();
    }

    // The proxy's copy of POLLED is the one it read at the start: never
    // let it overwrite fresher values.
    function mergeFromProxy() {
        const props = {};
        for (const key in proxy.data) {
            if (!POLLED.includes(key))
                props[key] = proxy.data[key];
        }
        merge(props);
    }

    // GetAll answers with variants ({t, v}); only POLLED are taken.
    function refresh() {
        return client.call(PATH, PROPERTIES, "GetAll", [IFACE], { type: "s" })
                .then(reply => {
                    const props = {};
                    for (const key of POLLED) {
                        if (key in reply[0])
                            props[key] = reply[0][key].v;
                    }
                    merge(props);
                    setText("fl-daemon-state", "filelesslockd is running.");
                })
                .catch(ex => {
                    setText("fl-daemon-state", "filelesslockd does not answer: " + (ex.message || cockpit.message(ex)));
                });
    }

    // At most one read per REFRESH_SOON_MS, however many events arrive.
    let refreshPending = false;
    function refreshSoon() {
        if (refreshPending)
            return;
        refreshPending = true;
        window.setTimeout(() => {
            refreshPending = false;
            refresh();
        }, REFRESH_SOON_MS);
    }

    function variantValue(event, key) {
        const v = event[key];
        return v === undefined ? undefined : v.v;
    }

    function addEvent(event) {
        const get = key => variantValue(event, key);
        const str = key => {
            const v = get(key);
            return v === undefined || v === "" ? "" : String(v);
        };
        const tr = document.createElement("tr");
        const ts = get("Timestamp");
        cell(tr, ts ? new Date(ts / 1000).toLocaleTimeString() : "");
        const action = str("Action");
        cell(tr, action, "fl-action fl-action-" + action.replace(/[^a-z-]/g, ""));
        cell(tr, str("Kind"));
        cell(tr, str("Operation"));
        let process = str("Comm") + " (pid " + str("Pid") + ", uid " + str("Uid") + ")";
        if (str("Program") && str("Program") !== str("Comm"))
            process += " " + str("Program");
        cell(tr, process);
        cell(tr, str("FileName") + (str("ExecPath") ? " via " + str("ExecPath") : ""), "fl-file");
        cell(tr, str("UserUnit") ? str("Unit") + " / " + str("UserUnit") : str("Unit"));
        cell(tr, str("Scope") ? str("Profile") + " (scope " + str("Scope") + ")" : str("Profile"));
        tr.dataset.fileName = str("FileName");
        tr.dataset.action = action;

        const body = $("fl-events").tBodies[0];
        body.insertBefore(tr, body.firstChild);
        while (body.rows.length > EVENT_ROWS_MAX)
            body.deleteRow(body.rows.length - 1);
        $("fl-events-empty").hidden = true;
        // The counters moved with this event.
        refreshSoon();
    }

    function describeError(ex) {
        const detail = ex.message || cockpit.message(ex);
        switch (ex.name) {
        case "org.freedesktop.DBus.Error.AccessDenied":
            return "Not authorized to change the profile (polkit refused): " + detail;
        case "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired":
            return "Changing the profile needs an administrator's authentication, which this session cannot give: " +
                   detail;
        case "org.bpflock.Fileless1.Error.Overridden":
            return "The profile is fixed elsewhere and D-Bus cannot change it: " + detail;
        default:
            return "Could not change the profile: " + detail;
        }
    }

    function changeProfile(ev) {
        ev.preventDefault();
        const profile = $("fl-profile-select").value;
        const button = $("fl-profile-apply");
        button.disabled = true;
        hideAlert();
        // interactive = true, and the message allows interactive
        // authorization: polkit may ask through Cockpit's agent.
        proxy.call("SetProfile", [profile, true], { flags: "i", type: "sb" })
                .then(() => {
                    showAlert("success", "Profile changed to " + profile + ".");
                    return refresh();
                })
                .catch(ex => {
                    showAlert("danger", describeError(ex));
                    // Nothing changed: the selector shows what is enforced.
                    $("fl-profile-select").value = state.Profile;
                })
                .finally(() => {
                    button.disabled = false;
                });
    }

    // With Cockpit's administrative access on, the page's bus calls are
    // root's (superuser "try"), and root receives every Event; without it
    // they are the user's own.
    function explainEventVisibility(permission) {
        const note = $("fl-events-note");
        if (!note.dataset.defaultText)
            note.dataset.defaultText = note.textContent;
        if (permission.allowed !== false || !permission.user) {
            note.textContent = note.dataset.defaultText;
            return;
        }
        const user = permission.user;
        const groups = user.groups || [];
        if (user.id !== 0 && !EVENT_GROUPS.some(g => groups.includes(g)))
            note.textContent = "The system bus delivers Event signals only to root and the adm and " +
                               "systemd-journal groups (they name other users' processes); " + user.name +
                               " is in neither and has no administrative access, so no event will appear here.";
        else
            note.textContent = note.dataset.defaultText;
    }

    function init() {
        $("fl-profile-form").addEventListener("submit", changeProfile);
        $("fl-alert-close").addEventListener("click", hideAlert);

        // As root when the user turned on administrative access (polkit
        // allows root), else as the user, whom the daemon's polkit check
        // judges: Cockpit's convention for pages that change the system.
        client = cockpit.dbus(NAME, { bus: "system", superuser: "try" });
        client.addEventListener("close", (ev, options) => {
            setText("fl-daemon-state", "Disconnected from the system bus: " + cockpit.message(options));
        });
        client.addEventListener("owner", (ev, owner) => {
            if (owner === null)
                setText("fl-daemon-state", "filelesslockd is not running (nobody owns " + NAME + ").");
            else
                refresh();
        });

        proxy = client.proxy(IFACE, PATH);
        proxy.addEventListener("changed", mergeFromProxy);
        proxy.wait().then(() => {
            if (proxy.valid)
                mergeFromProxy();
        });

        client.subscribe({ path: PATH, interface: IFACE, member: "Event" },
                         (path, iface, signal, args) => addEvent(args[0]));
        // Posture only invalidates: read it again, and the counters.
        client.subscribe({ path: PATH, interface: PROPERTIES, member: "PropertiesChanged" },
                         refreshSoon);

        refresh();
        window.setInterval(() => {
            if (!cockpit.hidden)
                refresh();
        }, POLL_MS);
        // cockpit.permission() also reloads the page when administrative
        // access is turned on or off, so that the bus client follows.
        const permission = cockpit.permission({ admin: true });
        permission.addEventListener("changed", () => explainEventVisibility(permission));
        explainEventVisibility(permission);
    }

    document.addEventListener("DOMContentLoaded", init);
}());
