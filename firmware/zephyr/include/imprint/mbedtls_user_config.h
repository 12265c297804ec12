/*
 * mbedTLS options the Imprint keys group needs beyond what Zephyr 3.4's Kconfig offers:
 * a PKCS#10 writer (x509write_csr) over an opaque PSA key. Point CONFIG_MBEDTLS_USER_CONFIG_FILE
 * at "imprint/mbedtls_user_config.h" (with CONFIG_MBEDTLS_USER_CONFIG_ENABLE=y).
 */
#ifndef IMPRINT_MBEDTLS_USER_CONFIG_H
#define IMPRINT_MBEDTLS_USER_CONFIG_H

#define MBEDTLS_OID_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CSR_WRITE_C

#endif
