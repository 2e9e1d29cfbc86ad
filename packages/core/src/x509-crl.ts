/**
 * The X.509 CRL loader (RFC 5280 §5): DER in, issuer, update times and revoked serial numbers
 * out, with the bytes a signature check needs. Structure only, on the strict DER reader; the
 * signature is checked by the caller against the issuer's key. Platform-neutral.
 */
import {
  contextTag,
  decodeDer,
  DerReader,
  DerTag,
  derChildren,
  readBitStringOctets,
  readIntegerBytes,
  readNaturalNumber,
  readTime,
  refuseDer as refuse,
} from './der.ts';
import { sameBytes, toHex } from './bytes.ts';
import { readAlgorithmIdentifier, readExplicitExtensions, readExtensionList, readName, type AlgorithmIdentifier, type X509Extension } from './x509.ts';

/** One revoked certificate of a CRL. */
export interface RevokedCertificate {
  /** The serial number's INTEGER content octets in lowercase hex, as {@link X509Certificate.serialNumber}. */
  serialNumber: string;
  revocationDate: Date;
  extensions: X509Extension[];
}

/** A decoded CRL. */
export interface X509Crl {
  /** The DER bytes given. */
  der: Uint8Array;
  /** The DER of tbsCertList: what the signature covers. */
  tbsDer: Uint8Array;
  /** 1 or 2. */
  version: number;
  /** The outer signatureAlgorithm (equal to tbsCertList.signature, or the CRL is refused). */
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  /** The issuer name as text, in the form of {@link X509Certificate.issuer}. */
  issuer: string;
  issuerDer: Uint8Array;
  thisUpdate: Date;
  /** Absent when the CRL does not say (RFC 5280 wants it; verifiers should refuse such a CRL). */
  nextUpdate?: Date;
  revoked: RevokedCertificate[];
  extensions: X509Extension[];
}

function isTime(tag: number | undefined): boolean {
  return tag === DerTag.UtcTime || tag === DerTag.GeneralizedTime;
}

/**
 * Decodes one DER CRL (exactly the bytes given). Checks field order and types, version 1 or 2
 * (extensions only in version 2), the two signature algorithm fields equal, valid times.
 * Throws `InvalidRequest` naming the field.
 */
export function parseX509Crl(der: Uint8Array): X509Crl {
  const top = decodeDer(der, '');
  if (top.tag !== DerTag.Sequence) refuse('', 'not a DER SEQUENCE', 0);
  const outer = new DerReader(top, '');
  const tbs = outer.next(DerTag.Sequence, 'tbsCertList');
  const signatureAlgorithmItem = outer.next(DerTag.Sequence, 'signatureAlgorithm');
  const signature = readBitStringOctets(outer.next(DerTag.BitString, 'signatureValue'), 'signatureValue');
  outer.end();

  const at = 'tbsCertList';
  const reader = new DerReader(tbs, at);
  const versionItem = reader.optional(DerTag.Integer, 'version');
  const version = versionItem === undefined ? 1 : readNaturalNumber(versionItem, `${at}.version`) + 1;
  if (versionItem !== undefined && version !== 2) refuse(`${at}.version`, `version ${version} is not 2 (the only one encoded)`, versionItem.offset);
  const innerAlgorithm = reader.next(DerTag.Sequence, 'signature');
  const issuer = readName(reader.next(DerTag.Sequence, 'issuer'), `${at}.issuer`);
  const thisUpdate = readTime(reader.any('thisUpdate'), `${at}.thisUpdate`);
  const nextUpdate = isTime(reader.peekTag()) ? readTime(reader.any('nextUpdate'), `${at}.nextUpdate`) : undefined;
  const revokedItem = reader.optional(DerTag.Sequence, 'revokedCertificates');
  const extensionsItem = reader.optional(contextTag(0), 'crlExtensions');
  reader.end();

  const signatureAlgorithm = readAlgorithmIdentifier(signatureAlgorithmItem, 'signatureAlgorithm');
  readAlgorithmIdentifier(innerAlgorithm, `${at}.signature`);
  if (!sameBytes(innerAlgorithm.der, signatureAlgorithmItem.der)) refuse(`${at}.signature`, 'differs from signatureAlgorithm', innerAlgorithm.offset);

  const revoked = revokedItem === undefined ? [] : derChildren(revokedItem, `${at}.revokedCertificates`).map((entry, index) => {
    const entryWhat = `${at}.revokedCertificates[${index}]`;
    if (entry.tag !== DerTag.Sequence) refuse(entryWhat, 'not a SEQUENCE', entry.offset);
    const fields = new DerReader(entry, entryWhat);
    const serial = readIntegerBytes(fields.next(DerTag.Integer, 'userCertificate'), `${entryWhat}.userCertificate`);
    const revocationDate = readTime(fields.any('revocationDate'), `${entryWhat}.revocationDate`);
    const entryExtensions = fields.optional(DerTag.Sequence, 'crlEntryExtensions');
    fields.end();
    if (entryExtensions !== undefined && version !== 2) refuse(entryWhat, 'entry extensions in a version 1 CRL', entry.offset);
    return {
      serialNumber: toHex(serial),
      revocationDate,
      extensions: entryExtensions === undefined ? [] : readExtensionList(entryExtensions, `${entryWhat}.crlEntryExtensions`),
    };
  });
  if (extensionsItem !== undefined && version !== 2) refuse(`${at}.crlExtensions`, 'present in a version 1 CRL', extensionsItem.offset);

  const crl: X509Crl = {
    der,
    tbsDer: tbs.der,
    version,
    signatureAlgorithm,
    signature,
    issuer: issuer.text,
    issuerDer: issuer.der,
    thisUpdate,
    revoked,
    extensions: extensionsItem === undefined ? [] : readExplicitExtensions(extensionsItem, `${at}.crlExtensions`),
  };
  if (nextUpdate !== undefined) crl.nextUpdate = nextUpdate;
  return crl;
}
