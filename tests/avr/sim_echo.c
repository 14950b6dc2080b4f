/* Echoes every byte: proves the UART bridge carries large transfers both ways. */
#include "sim_uart.h"

int main(void)
{
	uart_init();
	for (;;)
		uart_put(uart_get());
}
