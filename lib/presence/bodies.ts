/**
 * The presentity bodies of `kazoo_pua_publish*` (docs/presence.md#bodies), byte for byte the module's
 * templates, except that every value placed in an XML body is escaped (the module escapes
 * nothing, so `&`, `<` or `"` in a value made its bodies ill-formed). Pure functions.
 */

/**
 * The call-id the module hard-codes in the "empty dialog" body it writes when `Call-ID` is empty.
 * Kamailio: `kz_pua.c`, dialog handler.
 */
export const EMPTY_DIALOG_CALL_ID = '76001e23e09704ea9e1257ebea85e1f3';

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

// XML 1.0 cannot carry these at all (not even as character references): they become U+FFFD so
// the body stays well-formed. Lone surrogates would be written as invalid UTF-8 otherwise.
const NOT_XML_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SPECIAL = /[&<>"']/g;

/**
 * Escapes a value for XML text or a double- or single-quoted attribute: `&` `<` `>` `"` `'`
 * become entity references; characters XML 1.0 forbids become U+FFFD. Values without any of them
 * are returned unchanged, so bodies of plain values are the module's bytes.
 */
export function xmlEscape(value: string): string {
  return value.replace(NOT_XML_CHAR, '\ufffd').replace(SPECIAL, (c) => ESCAPES[c]);
}

/** The values of a dialog-info body, after the module's defaults (From-URI ← From, ...). */
export interface DialogBodyFields {
  presentity: string;
  dialogId: string;
  callId: string;
  fromTag: string;
  toTag: string;
  direction: string;
  state: string;
  fromUser: string;
  from: string;
  fromUri: string;
  toUser: string;
  to: string;
  toUri: string;
}

/**
 * The dialog-info body (docs/presence.md#bodies), one line. With `includeEntity` (`pua_include_entity` 1)
 * the `<target uri=…/>` elements are present. When `callId` is empty this is the module's
 * "empty dialog": a terminated dialog with {@link EMPTY_DIALOG_CALL_ID}.
 */
export function dialogBody(f: DialogBodyFields, includeEntity: boolean): string {
  const e = xmlEscape;
  const open = `${XML_HEADER}<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="${e(f.presentity)}">`;
  if (f.callId === '') {
    return `${open} <dialog call-id="${EMPTY_DIALOG_CALL_ID}" direction="initiator"><state>terminated</state></dialog></dialog-info>`;
  }
  // One space on each side of each optional tag attribute, present or not: three spaces without tags.
  const localTag = f.fromTag === '' ? '' : `local-tag="${e(f.fromTag)}"`;
  const remoteTag = f.toTag === '' ? '' : `remote-tag="${e(f.toTag)}"`;
  const localTarget = includeEntity ? `<target uri="${e(f.fromUri)}"/>` : '';
  const remoteTarget = includeEntity ? `<target uri="${e(f.toUri)}"/>` : '';
  return (
    `${open}<dialog id="${e(f.dialogId)}" call-id="${e(f.callId)}" ${localTag} ${remoteTag} direction="${e(f.direction)}">` +
    `<state>${e(f.state)}</state>` +
    `<local><identity display="${e(f.fromUser)}">${e(f.from)}</identity>${localTarget}</local>` +
    `<remote><identity display="${e(f.toUser)}">${e(f.to)}</identity>${remoteTarget}</remote>` +
    `</dialog></dialog-info>`
  );
}

/** The values of a message-summary body. */
export interface MwiBodyFields {
  messagesWaiting: string;
  messageAccount: string;
  messagesNew: string;
  messagesSaved: string;
  messagesUrgent: string;
  messagesUrgentSaved: string;
}

/**
 * The message-summary body (docs/presence.md#bodies): three CRLF-terminated lines. Not XML, so nothing is
 * escaped; missing values are empty, as in the module (`Voice-Message: / (/)`).
 */
export function mwiBody(f: MwiBodyFields): string {
  return (
    `Messages-Waiting: ${f.messagesWaiting}\r\n` +
    `Message-Account: ${f.messageAccount}\r\n` +
    `Voice-Message: ${f.messagesNew}/${f.messagesSaved} (${f.messagesUrgent}/${f.messagesUrgentSaved})\r\n`
  );
}

/** basic / note / activities of a PIDF body by `State` (docs/presence.md#bodies). */
export function presenceState(state: string): { basic: string; note: string; activities: string } {
  switch (state) {
    case 'early':
      return { basic: 'open', note: 'Busy', activities: '<rpid:busy/>' };
    case 'confirmed':
      return { basic: 'open', note: 'On the Phone', activities: '<rpid:on-the-phone/>' };
    case 'offline':
      return { basic: 'closed', note: 'Offline', activities: '' };
    default:
      return { basic: 'open', note: 'Available', activities: '' };
  }
}

/**
 * The PIDF presence body (docs/presence.md#bodies), one line: `entity` is the bare From-User and the tuple id
 * the Call-ID, as in the module.
 */
export function presenceBody(fromUser: string, callId: string, state: string): string {
  const { basic, note, activities } = presenceState(state);
  return (
    `${XML_HEADER}<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ` +
    `xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="${xmlEscape(fromUser)}"> ` +
    `<tuple xmlns="urn:ietf:params:xml:ns:pidf" id="${xmlEscape(callId)}"><status><basic>${basic}</basic></status></tuple>` +
    `<note xmlns="urn:ietf:params:xml:ns:pidf">${note}</note>` +
    `<dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="1">` +
    `<rpid:activities>${activities}</rpid:activities><dm:note>${note}</dm:note></dm:person></presence>`
  );
}
