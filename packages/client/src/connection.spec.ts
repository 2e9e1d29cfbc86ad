import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '@veracruz-ts/core';
import { alertError, receivedTlsAlert } from './connection.ts';

const tlsError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

describe('TLS alerts from the isolate', () => {
  it('reads the alert from OpenSSL\'s message, or else from the error code of either OpenSSL style', () => {
    assert.equal(receivedTlsAlert(tlsError('ERR_SSL_SSL/TLS_ALERT_CERTIFICATE_UNKNOWN',
      'error:0A000416:SSL routines:ssl3_read_bytes:ssl/tls alert certificate unknown:rec_layer_s3.c:918:SSL alert number 46')), 'certificate_unknown');
    assert.equal(receivedTlsAlert(tlsError('ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', 'sslv3 alert certificate unknown')), 'certificate_unknown');
    assert.equal(receivedTlsAlert(tlsError('ERR_SSL_TLSV1_ALERT_ACCESS_DENIED', 'tlsv1 alert access denied')), 'access_denied');
    assert.equal(receivedTlsAlert(tlsError('ECONNRESET', 'read ECONNRESET')), undefined);
    assert.equal(receivedTlsAlert('not an error'), undefined);
  });

  it('names a refused identity as permission_denied, and any other alert as unavailable', () => {
    const unknown = alertError(tlsError('ERR_SSL_TLSV1_ALERT_ACCESS_DENIED', 'tlsv1 alert access denied'));
    assert.equal(unknown?.code, Code.PermissionDenied);
    assert.equal(unknown?.rawMessage, 'the isolate does not know this identity: its certificate is not one of the policy\'s identities (TLS alert access_denied)');
    assert.equal(alertError(tlsError('X', 'SSL alert number 45'))?.code, Code.PermissionDenied);
    const other = alertError(tlsError('X', 'SSL alert number 20'));
    assert.equal(other?.code, Code.Unavailable);
    assert.equal(other?.rawMessage, 'the isolate ended the TLS session with alert bad_record_mac');
    assert.equal(alertError(tlsError('ECONNRESET', 'read ECONNRESET')), undefined);
  });
});
