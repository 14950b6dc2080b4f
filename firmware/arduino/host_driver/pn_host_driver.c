/* The board's protocol core (../pixelnet_uno/pn_app.c, pn_frame.c) on the host, for tests.
 *
 * Usage: pn_host_driver EEPROM_FILE [A0 A1 A2 A3 [A0 A1 A2 A3 ...]]
 * Feeds stdin to the protocol byte by byte and writes the board's replies to
 * stdout. The ADC reads the given counts (default 512); with several rows of
 * four, each pixel's k-th reading is row k (cycling), so averaging over
 * changing readings can be checked against its definition; the EEPROM is a
 * file that is created blank (0xFF) and saved at exit, so a calibration
 * survives a "restart" as on a board. The clock advances 100 us per byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_app.h"
#include "pn_hw.h"

#define STORE_SIZE 64
#define MICROS_PER_BYTE 100
#define MAX_ROWS 256

static uint8_t store[STORE_SIZE];
static uint16_t adc_counts[MAX_ROWS][4] = {{512, 512, 512, 512}};
static unsigned adc_rows = 1;
static unsigned adc_reads[4];
static uint32_t clock_us;

void pn_hw_write(const uint8_t *buf, uint8_t n)
{
    fwrite(buf, 1, n, stdout);
}

uint8_t pn_hw_tx_room(void)
{
    return 255;
}

uint16_t pn_hw_adc(uint8_t pixel)
{
    return adc_counts[adc_reads[pixel]++ % adc_rows][pixel];
}

uint32_t pn_hw_micros(void)
{
    return clock_us;
}

void pn_hw_store_read(uint8_t *buf, uint8_t n)
{
    memcpy(buf, store, n);
}

void pn_hw_store_write(const uint8_t *buf, uint8_t n)
{
    memcpy(store, buf, n);
}

void pn_hw_restart(void)
{
    pn_app_boot();
}

static void load_store(const char *path)
{
    FILE *f = fopen(path, "rb");
    memset(store, 0xFF, sizeof store);
    if (f != NULL) {
        size_t got = fread(store, 1, sizeof store, f);
        (void)got; /* a short file keeps the blank tail */
        fclose(f);
    }
}

static int save_store(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(store, 1, sizeof store, f) != sizeof store) {
        perror(path);
        return 1;
    }
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    int c, i;
    if (argc < 2 || (argc - 2) % 4 != 0 || argc - 2 > 4 * MAX_ROWS) {
        fprintf(stderr, "usage: %s EEPROM_FILE [A0 A1 A2 A3 [A0 A1 A2 A3 ...]]\n", argv[0]);
        return 2;
    }
    if (argc > 2) {
        adc_rows = (unsigned)(argc - 2) / 4;
    }
    for (i = 0; i < argc - 2; i++) {
        adc_counts[i / 4][i % 4] = (uint16_t)strtoul(argv[2 + i], NULL, 10);
    }
    load_store(argv[1]);
    pn_app_boot();
    while ((c = getchar()) != EOF) {
        clock_us += MICROS_PER_BYTE;
        pn_app_on_byte((uint8_t)c);
        pn_app_poll();
    }
    return save_store(argv[1]);
}
