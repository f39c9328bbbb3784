/* kinds.c — see kinds.h. The table below is the one place that lists the model kinds. */
#include "kinds.h"
#include "dvcos.h"
#include "ensemble.h"
#include "linear.h"
#include "nnmodel.h"
#include "w2v.h"

#include <string.h>

const kinds_entry kinds_table[] = {
    { "nblr", &linear_clf_ops, &linear_trainer },
    { "word2vec", NULL, &w2v_trainer },
    { "lstm", &nnmodel_lstm_clf_ops, &nnmodel_lstm_trainer },
    { "bilstm", &nnmodel_bilstm_clf_ops, &nnmodel_bilstm_trainer },
    { "mlp", &nnmodel_mlp_clf_ops, &nnmodel_mlp_trainer },
    { "cnn", &nnmodel_cnn_clf_ops, &nnmodel_cnn_trainer },
    { "regemb", NULL, &nnmodel_regemb_trainer },
    { "regcnn", &nnmodel_regcnn_clf_ops, &nnmodel_regcnn_trainer },
    { "dvcos", &dvcos_clf_ops, &dvcos_trainer },
    { "ensemble", &ensemble_clf_ops, &ensemble_trainer },
    { NULL, NULL, NULL }
};

const kinds_entry *kinds_find(const char *name)
{
    for (const kinds_entry *k = kinds_table; k->name; k++)
        if (strcmp(k->name, name) == 0) return k;
    return NULL;
}
