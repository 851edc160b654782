/* bnnkit test harness: classify raw images from a file, one line per image.
 *
 *   main [IMAGES [PREDICTIONS]]   (defaults: images.bin, predictions.txt)
 *
 * IMAGES holds N inputs of BNN_INPUT_SIZE bnn_input_t each (uint8 pixels, or
 * float32 for models that take their own input). Each output line is
 * "predicted_class score0 score1 ..." with each score as the 8 hex digits of
 * its IEEE-754 bits (exact; for a bit-packed output, the words themselves;
 * for an int8 output, its byte). Images are read BATCH at a time (on the Cortex-M4
 * through semihosting). Lines starting with '#' report measurements. */
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "app_model.h"

#define BATCH (BNN_INPUT_SIZE * sizeof(bnn_input_t) > 4096 ? 1 : 32) /* inputs per read */

static bnn_input_t images[BATCH][BNN_INPUT_SIZE];
static bnn_output_t scores[BNN_OUTPUT_SIZE];

/* Calls that bracket one inference, so an emulator can count what lies between. */
void bnn_marker_begin(void) BNN_NOINLINE;
void bnn_marker_end(void) BNN_NOINLINE;
void bnn_marker_begin(void) { BNN_BARRIER(); }
void bnn_marker_end(void) { BNN_BARRIER(); }

/* Called before each layer (and after the last) in a -DBNN_PROFILE build: the
 * emulator's log splits the inference at its calls. With -DBNN_PROFILE_TIME
 * (the host) it also adds up the clock from one call to the next, per layer. */
#ifdef BNN_PROFILE_TIME
#define BNN_PROFILE_LAYERS 4096
static uint64_t layer_ns[BNN_PROFILE_LAYERS];
static uint64_t layer_start_ns;
static int32_t layer_running = -1;
#endif
void bnn_profile_layer(int32_t layer) BNN_NOINLINE;
void bnn_profile_layer(int32_t layer)
{
#ifdef BNN_PROFILE_TIME
    const uint64_t now = board_time_ns();
    if (layer_running >= 0 && layer_running < layer && layer_running < BNN_PROFILE_LAYERS)
        layer_ns[layer_running] += now - layer_start_ns;
    layer_running = layer;
    layer_start_ns = board_time_ns();
#else
    (void)layer;
#endif
    BNN_BARRIER();
}

static uint32_t output_bits(bnn_output_t v)
{
    uint32_t u = 0; /* an int8 output: its byte (little-endian); else all 32 bits */
    memcpy(&u, &v, sizeof v);
    return u;
}

int main(int argc, char **argv)
{
    const char *in_path = argc > 1 ? argv[1] : "images.bin";
    const char *out_path = argc > 2 ? argv[2] : "predictions.txt";
    FILE *in, *out;
    long n_images = 0;
    uint64_t elapsed_ns = 0;
    size_t got;

    board_init();
    in = fopen(in_path, "rb");
    if (!in) {
        printf("error: cannot open %s\n", in_path);
        board_exit(3);
    }
    out = fopen(out_path, "w");
    if (!out) {
        printf("error: cannot write %s\n", out_path);
        board_exit(3);
    }
    while ((got = fread(images, sizeof images[0], BATCH, in)) > 0) {
        size_t b;
        for (b = 0; b < got; b++) {
            int32_t k, best = 0;
            uint64_t t0 = board_time_ns();
            int status;
            bnn_marker_begin();
            status = bnn_model_run(images[b], scores);
            bnn_marker_end();
            if (status != 0) {
                printf("error: the model returned status %d\n", status);
                board_exit(4);
            }
            elapsed_ns += board_time_ns() - t0;
            for (k = 1; k < BNN_OUTPUT_SIZE; k++)
                if (scores[k] > scores[best])
                    best = k;
            if (n_images < 10) /* by hand ('make run'): the first few, by name */
                printf("image %ld: %s\n", n_images, bnn_class_names[best]);
            fprintf(out, "%ld", (long)best);
            for (k = 0; k < BNN_OUTPUT_SIZE; k++)
                fprintf(out, " %08lx", (unsigned long)output_bits(scores[k]));
            fprintf(out, "\n");
            n_images++;
        }
    }
    fclose(in);
    fprintf(out, "# images %ld\n", n_images);
    fprintf(out, "# elapsed_ns %lu\n", (unsigned long)(elapsed_ns));
    fprintf(out, "# stack_bytes %lu\n", (unsigned long)board_stack_used());
    fprintf(out, "# io_buffer_bytes %lu\n", (unsigned long)(sizeof images + sizeof scores));
#ifdef BNN_PROFILE_TIME
    {
        int32_t k;
        for (k = 0; k < BNN_PROFILE_LAYERS; k++)
            if (layer_ns[k])
                fprintf(out, "# layer_ns_%ld %lu\n", (long)k, (unsigned long)layer_ns[k]);
    }
#endif
    fclose(out);
    board_exit(0);
    return 0;
}
